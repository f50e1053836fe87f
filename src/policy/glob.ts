/**
 * An action-class glob: dot-separated segments, each a literal or `*`.
 * `*` in the last position matches one or more segments; anywhere else exactly one.
 */
export type Glob = { text: string; segments: readonly string[]; tail: boolean; literalCount: number };

const SEGMENT = /^[a-z0-9_]+$/;

export type GlobParse = { ok: true; glob: Glob } | { ok: false; message: string };

export function parseGlob(text: string): GlobParse {
  const segments = text.split('.');
  for (const [i, segment] of segments.entries()) {
    if (segment === '*' || SEGMENT.test(segment)) continue;
    const what = segment === '' ? 'an empty segment' : `segment "${segment}"`;
    return {
      ok: false,
      message: `bad glob "${text}": ${what} at position ${i + 1}; segments are lowercase letters, digits and "_", or a whole "*"`,
    };
  }
  const tail = segments[segments.length - 1] === '*';
  // A single literal segment can never match: action classes have at least two.
  if (segments.length === 1 && !tail) {
    return { ok: false, message: `bad glob "${text}": action classes have at least two segments, so this can never match` };
  }
  const literalCount = segments.filter((s) => s !== '*').length;
  return { ok: true, glob: { text, segments, tail, literalCount } };
}

export function isExactGlob(glob: Glob): boolean {
  return glob.literalCount === glob.segments.length;
}
