import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { FileConfig } from '../config/file-config';

/**
 * Sliding-log rate limit, one sorted set per executor. Atomic in Redis and timed by Redis's own clock
 * (TIME), so every worker of every instance shares one limit and no host clock skew can widen it.
 * KEYS[1] the log; ARGV: max, window ms, member, take (1) or only look (0).
 * Returns 0 when there is room (and records the release when taking), else ms until the oldest entry leaves.
 */
const RELEASE_GATE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max = tonumber(ARGV[1])
local win = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - win)
if redis.call('ZCARD', KEYS[1]) < max then
  if ARGV[4] == '1' then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], win)
  end
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(oldest[2]) + win - now)
`;

type GateRedis = Redis & { countersignReleaseGate(key: string, max: number, windowMs: number, member: string, take: '0' | '1'): Promise<number> };

export type ReleaseGate = (executor: string, mode: 'peek' | 'take') => Promise<number>;

/**
 * The release rate limit of countersign.yaml (`rate_limit: {max, per_seconds}` per executor), held across
 * all workers and instances. `peek` only asks whether there is room (cheap, before claiming an action);
 * `take` records a release. Executors without a limit always have room.
 */
export function createReleaseGate(redis: Redis, prefix: string, config: Pick<FileConfig, 'executors'>): ReleaseGate {
  if (!('countersignReleaseGate' in redis)) {
    redis.defineCommand('countersignReleaseGate', { numberOfKeys: 1, lua: RELEASE_GATE_LUA });
  }
  const r = redis as GateRedis;
  return async (executor, mode) => {
    const limit = config.executors.find((e) => e.name === executor)?.rate_limit;
    if (!limit) return 0;
    const member = `${Date.now()}-${randomBytes(6).toString('hex')}`;
    const windowMs = limit.per_seconds * 1000 + windowPadMs(limit.per_seconds);
    const delay = await r.countersignReleaseGate(`${prefix}:release-rate:${executor}`, limit.max, windowMs, member, mode === 'take' ? '1' : '0');
    return Number(delay);
  };
}

/**
 * Slots are counted when taken; requests reach the executor a little later, and not all equally late. The
 * window is padded (a quarter of it, at most 500 ms) so that the executor, counting arrivals, still sees at
 * most `max` in any `per_seconds` window.
 */
export function windowPadMs(perSeconds: number): number {
  return Math.min(500, Math.floor(perSeconds * 250));
}
