import { redact } from '../../audit/redact';

/** Per-value limits on the card; the "View full payload" modal shows the rest. */
const CARD_STRING_MAX = 200;
const CARD_ITEMS_MAX = 20;
const CARD_DEPTH_MAX = 5;

/**
 * A redacted copy of `value` with long strings cut, long arrays and objects shortened and deep nesting
 * elided, and whether anything was cut (then the card offers the full payload in a modal).
 */
export function shortenForCard(value: unknown): { value: unknown; truncated: boolean } {
  let truncated = false;
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') {
      if (v.length <= CARD_STRING_MAX) return v;
      truncated = true;
      return `${v.slice(0, CARD_STRING_MAX)}… (${v.length - CARD_STRING_MAX} more characters)`;
    }
    if (v === null || typeof v !== 'object') return v;
    if (depth >= CARD_DEPTH_MAX) {
      truncated = true;
      return Array.isArray(v) ? [`… (${v.length} items)`] : { '…': `${Object.keys(v).length} keys` };
    }
    if (Array.isArray(v)) {
      const items = v.slice(0, CARD_ITEMS_MAX).map((x) => walk(x, depth + 1));
      if (v.length > CARD_ITEMS_MAX) {
        truncated = true;
        items.push(`… (${v.length - CARD_ITEMS_MAX} more items)`);
      }
      return items;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    const out: Record<string, unknown> = {};
    for (const [k, x] of entries.slice(0, CARD_ITEMS_MAX)) out[k.length > 100 ? `${k.slice(0, 100)}…` : k] = walk(x, depth + 1);
    if (entries.length > CARD_ITEMS_MAX) {
      truncated = true;
      out['…'] = `${entries.length - CARD_ITEMS_MAX} more keys`;
    }
    return out;
  };
  return { value: walk(redact(value), 0), truncated };
}

/** The full payload as shown in the modal: redacted, pretty-printed. */
export function fullPayloadText(value: unknown): string {
  return JSON.stringify(redact(value), null, 2) ?? 'null';
}

/**
 * Escapes `text` with `escape` (applied per character) and splits the result into pieces of at most `size`
 * characters, preferring line ends, without ever cutting an escape sequence in two: one piece per block.
 */
export function splitEscaped(text: string, size: number, escape: (s: string) => string): string[] {
  const pieces: string[] = [];
  let current = '';
  for (const ch of text) {
    const e = escape(ch);
    if (current.length + e.length > size) {
      const nl = current.lastIndexOf('\n');
      if (nl >= size / 2) {
        pieces.push(current.slice(0, nl + 1));
        current = current.slice(nl + 1);
      } else {
        pieces.push(current);
        current = '';
      }
    }
    current += e;
  }
  if (current.length || !pieces.length) pieces.push(current);
  return pieces;
}
