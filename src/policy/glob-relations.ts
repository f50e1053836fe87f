import type { Glob } from './glob.ts';

/** True when every action class `inner` matches is also matched by `outer`. */
export function globCovers(outer: Glob, rawInner: Glob): boolean {
  const inner = widen(rawInner);
  const n = outer.segments.length;
  const m = inner.segments.length;
  if (!outer.tail) {
    if (inner.tail || m !== n) return false;
    return outer.segments.every((segment, i) => segment === '*' || segment === inner.segments[i]);
  }
  // outer = prefix + trailing `*` (one or more): inner must always be at least n segments long.
  if (m < n) return false;
  for (let i = 0; i < n - 1; i++) {
    const segment = outer.segments[i];
    if (segment !== '*' && segment !== inner.segments[i]) return false;
  }
  return true;
}

/** An action class both globs match, or null when they are disjoint. */
export function globIntersection(a: Glob, b: Glob): string | null {
  const out: string[] = [];
  for (let i = 0; ; i++) {
    const aTail = a.tail && i === a.segments.length - 1;
    const bTail = b.tail && i === b.segments.length - 1;
    const aDone = i >= a.segments.length;
    const bDone = i >= b.segments.length;
    if (aDone && bDone) return out.join('.');
    if (aTail || bTail) {
      // A trailing `*` absorbs whatever the other glob still needs (at least one segment).
      const rest = aTail ? b : a;
      if (i >= rest.segments.length) return null;
      for (let j = i; j < rest.segments.length; j++) out.push(fill(rest.segments[j]!));
      // Two lone `*` globs: the shortest valid class still has two segments.
      if (out.length === 1) out.push('x');
      return out.join('.');
    }
    if (aDone || bDone) return null;
    const x = a.segments[i]!;
    const y = b.segments[i]!;
    if (x !== '*' && y !== '*' && x !== y) return null;
    out.push(x !== '*' ? x : fill(y));
  }
}

/** A lone `*` matches exactly what `*.*` matches, since action classes have at least two segments. */
function widen(glob: Glob): Glob {
  return glob.segments.length === 1 ? { ...glob, segments: ['*', '*'] } : glob;
}

function fill(segment: string): string {
  return segment === '*' ? 'x' : segment;
}
