/**
 * Hostile JSON, refused in linear time before anything walks it recursively (docs/errors.md, "Hostile
 * input"). Every check here visits each value once, iteratively: a body nested 100,000 levels deep costs
 * no more than a flat one of the same size, and no stack.
 */

/** Objects and arrays may nest this deep at most; the body (or tool call) itself is level 1. */
export const MAX_JSON_DEPTH = 64;

export type JsonFlaw = { path: Array<string | number>; message: string; code: 'too_deep' | 'nul' | 'lone_surrogate' | 'not_finite' };

/**
 * How deep the JSON text nests, counted without parsing it, stopping at the first level past `max`.
 * Brackets inside strings do not count. Returns the depth reached, capped at `max + 1`.
 */
export function jsonTextDepth(text: string, max = MAX_JSON_DEPTH): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped, whatever it is
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > max) return deepest;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

// An unpaired UTF-16 surrogate: PostgreSQL refuses it in text and jsonb alike.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function stringFlaw(s: string): Pick<JsonFlaw, 'message' | 'code'> | null {
  if (s.includes('\u0000')) return { code: 'nul', message: 'must not contain the NUL character (U+0000)' };
  if (LONE_SURROGATE.test(s)) return { code: 'lone_surrogate', message: 'must not contain a lone surrogate (an unpaired \\uD800-\\uDFFF escape)' };
  return null;
}

type Node = { key: string | number; parent: Node | null };

function pathOf(node: Node | null): Array<string | number> {
  const path: Array<string | number> = [];
  for (let n = node; n; n = n.parent) path.push(n.key);
  return path.reverse();
}

/**
 * The first thing in a parsed JSON value that the rest of the system cannot take: nesting deeper than
 * `maxDepth`, a NUL character or a lone surrogate in a string or key, or a number that is not finite
 * (`1e999` parses to Infinity). With its path; null when there is none. Linear in the size of the value.
 */
export function findJsonFlaw(value: unknown, maxDepth = MAX_JSON_DEPTH): JsonFlaw | null {
  // Explicit stack of (value, where it is, how deep its container is); paths are rebuilt only for the flaw.
  const stack: Array<{ value: unknown; node: Node | null; depth: number }> = [{ value, node: null, depth: 0 }];
  while (stack.length) {
    const { value: v, node, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const flaw = stringFlaw(v);
      if (flaw) return { path: pathOf(node), ...flaw };
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { path: pathOf(node), code: 'not_finite', message: 'must be a finite number' };
    } else if (v !== null && typeof v === 'object') {
      const level = depth + 1;
      if (level > maxDepth) return { path: pathOf(node), code: 'too_deep', message: `nests deeper than ${maxDepth} levels of objects and arrays` };
      if (Array.isArray(v)) {
        for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], node: { key: i, parent: node }, depth: level });
      } else {
        const entries = Object.entries(v as Record<string, unknown>);
        for (let i = entries.length - 1; i >= 0; i--) {
          const [key, child] = entries[i]!;
          const keyNode = { key, parent: node };
          const flaw = stringFlaw(key);
          if (flaw) return { path: pathOf(keyNode), code: flaw.code, message: `key ${flaw.message}` };
          stack.push({ value: child, node: keyNode, depth: level });
        }
      }
    }
  }
  return null;
}
