import { Redis, type RedisOptions } from 'ioredis';
import type { Env } from '../config/env';

/**
 * Where Redis is: one server by URL, or the current primary of a Sentinel-monitored group
 * (docs/operations.md, "Redis Sentinel"). Every connection Countersign opens (queues, workers, the rate
 * limiter, the CLI) is opened from one of these, so a failover moves all of them to the new primary.
 */
export type RedisTarget =
  | { kind: 'url'; url: string }
  | { kind: 'sentinel'; sentinels: Array<{ host: string; port: number }>; name: string; password?: string; sentinelPassword?: string };

/** The configured Redis, or null when neither REDIS_URL nor REDIS_SENTINELS is set (`serve` then starts its own). */
export function redisTargetOf(env: Pick<Env, 'REDIS_URL' | 'REDIS_SENTINELS' | 'REDIS_SENTINEL_NAME' | 'REDIS_PASSWORD' | 'REDIS_SENTINEL_PASSWORD'>): RedisTarget | null {
  if (env.REDIS_SENTINELS) {
    return {
      kind: 'sentinel',
      sentinels: env.REDIS_SENTINELS,
      name: env.REDIS_SENTINEL_NAME!,
      ...(env.REDIS_PASSWORD ? { password: env.REDIS_PASSWORD } : {}),
      ...(env.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: env.REDIS_SENTINEL_PASSWORD } : {}),
    };
  }
  return env.REDIS_URL ? { kind: 'url', url: env.REDIS_URL } : null;
}

/** A command sent to a replica (a demoted primary, before the client learnt of the failover). */
const isReadOnlyReply = (err: Error) => err.message.startsWith('READONLY');

/**
 * Opens a connection to `target` with `options`. Through Sentinel: ioredis asks the sentinels for the
 * primary, checks the server it reaches is one, listens for `+switch-master` (failoverDetector) so it moves at
 * once instead of at the next failed command, and a READONLY reply reconnects and resends the command.
 */
export function openRedis(target: RedisTarget, options: RedisOptions): Redis {
  if (target.kind === 'url') return new Redis(target.url, options);
  return new Redis({
    ...options,
    sentinels: target.sentinels,
    name: target.name,
    ...(target.password ? { password: target.password } : {}),
    ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
    role: 'master',
    failoverDetector: true,
    // How soon the sentinels are asked again when none answered; the primary's own reconnects use retryStrategy.
    sentinelRetryStrategy: (times: number) => Math.min(times * 100, 1000),
    reconnectOnError: (err) => (isReadOnlyReply(err) ? 2 : false),
  });
}
