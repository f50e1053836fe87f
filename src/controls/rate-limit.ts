import type { Redis } from 'ioredis';
import { Problem, isProblem } from '../lib/errors';
import { closeRedis, redisRetryDelay } from '../queue/connection';
import { openRedis, type RedisTarget } from '../queue/redis-target';

/**
 * Per-agent request rate limit, shared by every instance through Redis. GCRA (the "leaky bucket as a
 * meter"): one key per agent holding the theoretical arrival time, updated by one Lua script, so the
 * check-and-take is atomic and the clock is Redis's own (instances' clocks do not matter).
 * A full minute's quota may be used at once; after that requests are spaced at 60 s / limit.
 */
const GCRA_LUA = `
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = period / limit
local tat = now
local stored = redis.call('GET', key)
if stored then tat = math.max(tonumber(stored), now) end
local new_tat = tat + cost * interval
if cost > 0 and new_tat - now > period then
  local remaining = math.floor((period - (tat - now)) / interval)
  if remaining < 0 then remaining = 0 end
  return {0, remaining, math.ceil(tat - now), math.ceil(new_tat - now - period)}
end
if cost < 0 then
  -- A refund (a request that turned out to be a replay): give its slot back, never beyond a full quota.
  new_tat = math.max(new_tat, now)
  if new_tat <= now then redis.call('DEL', key) end
end
if cost ~= 0 and new_tat > now then
  redis.call('SET', key, string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now) + 1)
end
return {1, math.floor((period - (new_tat - now)) / interval), math.ceil(new_tat - now), 0}
`;

export const RATE_LIMIT_WINDOW_SECONDS = 60;
const DEFAULT_WAIT_MS = 1000;

export type RateLimitState = {
  allowed: boolean;
  limit: number;
  windowSeconds: number;
  remaining: number;
  /** Seconds until the whole quota is available again. */
  resetSeconds: number;
  /** When refused: seconds until one request fits. */
  retryAfterSeconds: number;
};

export type RateLimitSubject = { id: string; rateLimitPerMinute: number | null };

export type RateLimiter = {
  /** Takes `cost` requests from the agent's quota (0 only reads the state, -1 gives one back). Throws when Redis is unavailable. */
  take(agent: RateLimitSubject, cost?: number): Promise<RateLimitState>;
  /** Whether its Redis connection is up now: the optional reads (headers, refunds) do not wait for it. */
  isReady(): boolean;
  close(): Promise<void>;
};

type RedisWithScript = Redis & {
  csRateLimit(key: string, limit: number, periodMs: number, cost: number): Promise<[number, number, number, number]>;
};

/**
 * A limiter on its own Redis connection that fails fast: no offline queue, and a request waits at most
 * `waitMs` (the wait budget, COUNTERSIGN_DEPENDENCY_WAIT_MS) for a connection and its answer. When Redis is
 * down the intake refuses with 503 instead of waiting, i.e. it fails closed; a request arriving while the
 * connection is being re-established waits for it (within the budget), so the first one after Redis's
 * return succeeds.
 */
export function createRateLimiter(target: RedisTarget, opts: { prefix: string; defaultPerMinute: number; waitMs?: number }): RateLimiter {
  const waitMs = opts.waitMs ?? DEFAULT_WAIT_MS;
  const redis = openRedis(target, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    commandTimeout: waitMs,
    connectionName: 'countersign-ratelimit',
    retryStrategy: redisRetryDelay,
  }) as RedisWithScript;
  redis.on('error', () => {}); // reported per request as 503; ioredis reconnects by itself
  redis.defineCommand('csRateLimit', { numberOfKeys: 1, lua: GCRA_LUA });

  async function ready(): Promise<void> {
    if (redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      redis.once('ready', done);
    });
  }

  return {
    async take(agent, cost = 1) {
      const limit = agent.rateLimitPerMinute ?? opts.defaultPerMinute;
      const periodMs = RATE_LIMIT_WINDOW_SECONDS * 1000;
      await ready();
      const [allowed, remaining, resetMs, retryMs] = await redis.csRateLimit(`${opts.prefix}:ratelimit:${agent.id}`, limit, periodMs, cost);
      return {
        allowed: allowed === 1,
        limit,
        windowSeconds: RATE_LIMIT_WINDOW_SECONDS,
        remaining: Math.max(0, remaining),
        resetSeconds: Math.max(0, Math.ceil(resetMs / 1000)),
        retryAfterSeconds: Math.max(1, Math.ceil(retryMs / 1000)),
      };
    },
    isReady: () => redis.status === 'ready',
    // QUIT first: a reply still in flight (the script's load at start-up) would otherwise reject unhandled.
    close: () => closeRedis(redis),
  };
}

/** `RateLimit-Policy` and `RateLimit` as in draft-ietf-httpapi-ratelimit-headers (structured fields). */
export function rateLimitHeaders(s: RateLimitState): Record<string, string> {
  return {
    'RateLimit-Policy': `"agent";q=${s.limit};w=${s.windowSeconds}`,
    RateLimit: `"agent";r=${s.remaining};t=${s.resetSeconds}`,
  };
}

/**
 * The intake's rate-limit step: takes one request or refuses with 429 `rate-limited` (Retry-After and
 * the headers set). Redis unavailable → 503 `service-unavailable`, retryable: nothing was recorded.
 */
export async function enforceRateLimit(limiter: RateLimiter | undefined, agent: RateLimitSubject): Promise<Record<string, string>> {
  if (!limiter) return {};
  let state: RateLimitState;
  try {
    state = await limiter.take(agent, 1);
  } catch {
    throw new Problem('service-unavailable', 'the rate limiter is unavailable (Redis); nothing was recorded', {
      retryAfterSeconds: 1,
      extensions: { dependency: 'redis' },
    });
  }
  const headers = rateLimitHeaders(state);
  if (!state.allowed) {
    throw new Problem('rate-limited', `agent is over its limit of ${state.limit} requests per ${state.windowSeconds} s`, {
      retryAfterSeconds: state.retryAfterSeconds,
      headers,
      extensions: { limit: state.limit, window_seconds: state.windowSeconds },
    });
  }
  return headers;
}

/** The headers for a response the limiter did not count (a replay, an earlier refusal); {} if Redis is down. */
export async function peekRateLimitHeaders(limiter: RateLimiter | undefined, agent: RateLimitSubject): Promise<Record<string, string>> {
  // Headers are a courtesy: a request already refused for an outage must not wait out the budget twice.
  if (!limiter?.isReady()) return {};
  try {
    return rateLimitHeaders(await limiter.take(agent, 0));
  } catch {
    return {};
  }
}

/**
 * Gives back the request `enforceRateLimit` took, for a request that turned out to be an idempotent replay
 * (the allow path learns that only from its write): replays are not counted. Returns the headers to send.
 */
export async function refundRateLimit(limiter: RateLimiter | undefined, agent: RateLimitSubject): Promise<Record<string, string>> {
  // With Redis away the refund would fail after waiting; the request stays counted, which only errs strict.
  if (!limiter?.isReady()) return {};
  try {
    return rateLimitHeaders(await limiter.take(agent, -1));
  } catch {
    return {};
  }
}

/**
 * Every intake response carries the agent's rate-limit state: when a step before the limiter answered
 * (a refusal, a replay) the state is read without counting the request.
 */
export async function withRateLimitHeaders<T extends { headers?: Record<string, string> }>(
  limiter: RateLimiter | undefined,
  agent: RateLimitSubject,
  run: () => Promise<T>,
): Promise<T> {
  try {
    const result = await run();
    if (!limiter || result.headers?.RateLimit) return result;
    return { ...result, headers: { ...result.headers, ...(await peekRateLimitHeaders(limiter, agent)) } };
  } catch (e) {
    if (limiter && isProblem(e) && !e.headers.RateLimit) Object.assign(e.headers, await peekRateLimitHeaders(limiter, agent));
    throw e;
  }
}
