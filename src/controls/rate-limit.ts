import type { Redis } from 'ioredis';
import { Problem, isProblem } from '../lib/errors';
import { closeRedis, redisRetryDelay } from '../queue/connection';
import { openRedis, type RedisTarget } from '../queue/redis-target';
import { groupCommit } from '../lib/group-commit';

/**
 * Per-agent request rate limit, shared by every instance through Redis. GCRA (the "leaky bucket as a
 * meter"): one key per agent holding the theoretical arrival time, updated by one Lua script, so the
 * check-and-take is atomic and the clock is Redis's own (instances' clocks do not matter).
 * A full minute's quota may be used at once; after that requests are spaced at 60 s / limit.
 *
 * The script takes a batch: the takes of requests that arrive while a call is in flight go together in the
 * next call (KEYS[i] with ARGV limit and cost per take), applied in order, one after the other, exactly as
 * separate calls would be — two takes for the same agent in one batch see each other. One round trip and one
 * socket write per batch instead of per request (issue #20: the write alone was about a tenth of the intake's
 * CPU).
 */
const GCRA_BATCH_LUA = `
local period = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i = 1, #KEYS do
  local key = KEYS[i]
  local limit = tonumber(ARGV[2 * i])
  local cost = tonumber(ARGV[2 * i + 1])
  local interval = period / limit
  local tat = now
  local stored = redis.call('GET', key)
  if stored then tat = math.max(tonumber(stored), now) end
  local new_tat = tat + cost * interval
  if cost > 0 and new_tat - now > period then
    local remaining = math.floor((period - (tat - now)) / interval)
    if remaining < 0 then remaining = 0 end
    table.insert(out, 0)
    table.insert(out, remaining)
    table.insert(out, math.ceil(tat - now))
    table.insert(out, math.ceil(new_tat - now - period))
  else
    if cost < 0 then
      -- A refund (a request that turned out to be a replay): give its slot back, never beyond a full quota.
      new_tat = math.max(new_tat, now)
      if new_tat <= now then redis.call('DEL', key) end
    end
    if cost ~= 0 and new_tat > now then
      redis.call('SET', key, string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now) + 1)
    end
    table.insert(out, 1)
    table.insert(out, math.floor((period - (new_tat - now)) / interval))
    table.insert(out, math.ceil(new_tat - now))
    table.insert(out, 0)
  end
end
return out
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
  csRateLimitBatch(keyCount: number, ...keysThenArgs: Array<string | number>): Promise<number[]>;
};

/** One take, with the moment its wait budget runs out (it was asked at `deadline - waitMs`). */
type Take = { key: string; limit: number; cost: number; deadline: number };

/** A take whose wait budget ran out before its batch was sent: it was not applied. */
const EXPIRED = 'expired' as const;
type TakeAnswer = [number, number, number, number] | typeof EXPIRED;

/** Thrown for a take that did not get its answer within the wait budget (the request is refused with 503). */
export class RateLimitUnavailable extends Error {}

/** Most takes in one script call. */
const MAX_TAKES_PER_CALL = 256;

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
  redis.defineCommand('csRateLimitBatch', { lua: GCRA_BATCH_LUA });

  /** Waits for the connection at most `budgetMs`. */
  async function ready(budgetMs: number): Promise<void> {
    if (redis.status === 'ready' || budgetMs <= 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, budgetMs);
      redis.once('ready', done);
    });
  }

  const periodMs = RATE_LIMIT_WINDOW_SECONDS * 1000;
  // One call in flight; the takes that arrive meanwhile form the next one. A call that fails fails all its takes
  // (503 each, nothing recorded): none is sent again, since a call that timed out may have been applied.
  // Every take keeps its own wait budget: one that waited out its budget behind a slow call is not sent at all
  // (answered `expired`, so 503, nothing recorded), and a batch waits for the connection only as long as its
  // most patient take may. Without this a take could wait the budget once in the queue and again in its call.
  const batches = groupCommit<Take, TakeAnswer>(
    async (all) => {
      const now = Date.now();
      const takes = all.filter((t) => t.deadline > now);
      if (takes.length === 0) return all.map(() => EXPIRED);
      await ready(Math.max(...takes.map((t) => t.deadline)) - now);
      const args: Array<string | number> = takes.map((t) => t.key);
      args.push(periodMs);
      for (const t of takes) args.push(t.limit, t.cost);
      const flat = await redis.csRateLimitBatch(takes.length, ...args);
      if (flat.length !== takes.length * 4) throw new Error(`rate limiter: ${flat.length} values for ${takes.length} takes`);
      const answers = new Map(takes.map((t, i) => [t, [flat[4 * i]!, flat[4 * i + 1]!, flat[4 * i + 2]!, flat[4 * i + 3]!] as TakeAnswer]));
      return all.map((t) => answers.get(t) ?? EXPIRED);
    },
    { maxBatch: MAX_TAKES_PER_CALL, maxInFlight: 1, onBatchError: 'fail' },
  );

  /** The answer to a take, or a rejection once its wait budget is spent (the call may still apply it: that errs strict). */
  function submit(take: Take): Promise<[number, number, number, number]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new RateLimitUnavailable(`rate limiter: no answer within ${waitMs} ms`)), Math.max(0, take.deadline - Date.now()));
      batches.submit(take).then(
        (answer) => {
          clearTimeout(timer);
          if (answer === EXPIRED) reject(new RateLimitUnavailable(`rate limiter: waited ${waitMs} ms for an earlier call`));
          else resolve(answer);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  return {
    async take(agent, cost = 1) {
      const limit = agent.rateLimitPerMinute ?? opts.defaultPerMinute;
      const [allowed, remaining, resetMs, retryMs] = await submit({ key: `${opts.prefix}:ratelimit:${agent.id}`, limit, cost, deadline: Date.now() + waitMs });
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
