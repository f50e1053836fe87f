const RELATIVE = /^(\d{1,6})(s|m|h|d|w)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/**
 * A moment given as an ISO 8601 date/time or as an age (`90m`, `24h`, `7d`, `2w`: that long before `now`).
 * Returns null when it is neither.
 */
export function parseMoment(text: string, now = new Date()): Date | null {
  const rel = RELATIVE.exec(text.trim());
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS]);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim())) return null;
  const t = Date.parse(text.trim());
  return Number.isNaN(t) ? null : new Date(t);
}
