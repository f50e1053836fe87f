// Bidirectional controls (they reorder what an approver reads: "\u202Eexe.txt" shows as "txt.exe") and
// invisible characters (they hide text, or split a word so it no longer looks like itself).
const BIDI = '\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069';
const INVISIBLE = '\u180E\u200B-\u200D\u2060-\u2064\uFEFF';
const HIDDEN_RE = new RegExp(`[${BIDI}${INVISIBLE}]`, 'gu');
const PICTOGRAPH_BEFORE = /\p{Extended_Pictographic}\uFE0F?$/u;
const PICTOGRAPH_AFTER = /^\p{Extended_Pictographic}/u;

/**
 * Bidi controls and zero-width characters in untrusted text, made visible as `[U+202E]`: the card shows
 * that something was there instead of letting it reorder or hide what the approver reads. A zero-width
 * joiner between two emoji builds one emoji (👩‍💻) and stays.
 */
export function neutraliseHidden(text: string): string {
  return text.replace(HIDDEN_RE, (c: string, at: number) => {
    if (c === '\u200D' && PICTOGRAPH_BEFORE.test(text.slice(Math.max(0, at - 3), at)) && PICTOGRAPH_AFTER.test(text.slice(at + 1, at + 3))) return c;
    return `[U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`;
  });
}

/**
 * Everything an agent wrote is untrusted. In mrkdwn, `&`, `<`, `>` must be escaped or Slack turns
 * `<!channel>`, `<@U…>` and `<https://x|label>` into mentions and links; hidden characters are made
 * visible (neutraliseHidden).
 */
export function escapeMrkdwn(text: string): string {
  return neutraliseHidden(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text for inside a ``` block: escaped, and unable to close the block early. */
export function escapeCodeBlock(text: string): string {
  // A zero-width space after every backtick keeps an agent from ending the code block and formatting the rest.
  return escapeMrkdwn(text).replace(/`/g, '`\u200b');
}

/** Truncates to a length limit, marking the cut so a reader knows there is more. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * Truncates text that is already escaped without leaving half an entity (`&am…`) or a bare backtick
 * (which could pair with the closing fence) at the cut.
 */
export function clip(escaped: string, max: number): string {
  if (escaped.length <= max) return escaped;
  const cut = escaped.slice(0, Math.max(0, max - 1)).replace(/&[a-z]{0,3}$/, '').replace(/`$/, '');
  return `${cut}…`;
}

/** Plain text cannot carry mentions or links, but still has length limits and must not be empty. */
export function plain(text: string, max: number): { type: 'plain_text'; text: string; emoji: false } {
  return { type: 'plain_text', text: truncate(text.length ? neutraliseHidden(text) : ' ', max), emoji: false };
}

/** A mrkdwn text object that Slack will not auto-link or auto-mention (`verbatim`): only our own markup counts. */
export function mrkdwn(text: string): { type: 'mrkdwn'; text: string; verbatim: true } {
  return { type: 'mrkdwn', text: text.length ? text : ' ', verbatim: true };
}

/**
 * Untrusted free text as a block quote: escaped, and every line quoted, so an agent's "*Approved*" or a
 * fake heading stays visibly inside its quote instead of passing for the card's own text.
 */
export function quote(text: string, max: number): string {
  const lines = (text.trim() || '(none given)').split('\n').map((line) => `>${escapeMrkdwn(line)}`);
  return clip(lines.join('\n'), max);
}

/** Untrusted text as a fenced code block of at most `max` characters in all. */
export function codeBlock(text: string, max: number): string {
  return `\`\`\`${clip(escapeCodeBlock(text), Math.max(1, max - 6))}\`\`\``;
}
