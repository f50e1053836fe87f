/**
 * Everything an agent wrote is untrusted. In mrkdwn, `&`, `<`, `>` must be escaped or Slack turns
 * `<!channel>`, `<@U…>` and `<https://x|label>` into mentions and links.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Text for inside a ``` block: escaped, and unable to close the block early. */
export function escapeCodeBlock(text: string): string {
  // A zero-width space between backticks keeps an agent from ending the code block and formatting the rest.
  return escapeMrkdwn(text).replace(/`/g, '`\u200b');
}

/** Truncates to a length limit, marking the cut so a reader knows there is more. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Plain text cannot carry mentions or links, but still has length limits and must not be empty. */
export function plain(text: string, max: number): { type: 'plain_text'; text: string; emoji: false } {
  return { type: 'plain_text', text: truncate(text.length ? text : ' ', max), emoji: false };
}
