/** When to try again. Pure, so the policy is testable without clocks. */
export type RetryPolicy = {
  /** Retries after the first attempt. Default 4. */
  maxRetries: number;
  /** First backoff step; doubles each retry, with full jitter. Default 250 ms. */
  baseDelayMs: number;
  /** No single wait is longer than this, whatever Retry-After asks. Default 30 s. */
  maxDelayMs: number;
};

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 4, baseDelayMs: 250, maxDelayMs: 30_000 };

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** The wait before retry number `retry` (0-based): Retry-After when the server sent one, else jittered backoff. */
export function retryDelayMs(policy: RetryPolicy, retry: number, retryAfterMs: number | null, random = Math.random): number {
  if (retryAfterMs !== null) return Math.min(retryAfterMs, policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
