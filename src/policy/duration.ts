const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Longest duration a policy may name: approvals older than this are stale whatever the policy says. */
export const MAX_DURATION_SECONDS = 30 * 24 * 3600;

/** Parses `"1h"`, `"15m"`, `"1h30m"`, `"2d"`, `"90s"` into seconds; null when malformed, zero or over 30 days. */
export function parseDuration(text: string): number | null {
  const match = DURATION.exec(text);
  if (!match || text === '') return null;
  const [, d, h, m, s] = match;
  const seconds = Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
  if (seconds <= 0 || seconds > MAX_DURATION_SECONDS) return null;
  return seconds;
}

export function formatDuration(seconds: number): string {
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('') || '0s';
}
