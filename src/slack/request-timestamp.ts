import type { RequestHandler } from 'express';

/** How far a Slack request's timestamp may be from now, either way (Slack's own rule: five minutes). */
export const MAX_SLACK_CLOCK_SKEW_SECONDS = 300;

/** A Slack request timestamp (seconds) is usable when it is an integer within the skew of `nowMs`. */
export function isFreshSlackTimestamp(header: string | undefined, nowMs = Date.now()): boolean {
  if (!header || !/^\d{1,12}$/.test(header)) return false;
  return Math.abs(nowMs / 1000 - Number(header)) <= MAX_SLACK_CLOCK_SKEW_SECONDS;
}

/**
 * HTTP mode: refuses a request whose `X-Slack-Request-Timestamp` is more than five minutes from now in
 * either direction, before Bolt sees it. Bolt checks the signature and refuses old timestamps only; a
 * request signed ahead of time (a leaked signing secret, a replayed capture) would otherwise be accepted
 * until that future moment and for five minutes after it. Socket Mode has no signatures (docs/slack.md).
 */
export function refuseSkewedSlackTimestamps(): RequestHandler {
  return (req, res, next) => {
    // Slack only POSTs; any other method goes on to the 405 answer, unsigned requests never reach Bolt either way.
    if (req.method !== 'POST' || isFreshSlackTimestamp(req.get('x-slack-request-timestamp'))) return next();
    res.status(401).type('text/plain').send('the request timestamp is missing or more than five minutes from now');
  };
}
