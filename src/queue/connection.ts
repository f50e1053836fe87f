import type { Redis } from 'ioredis';
import { openRedis, type RedisTarget } from './redis-target';

/**
 * ioredis's reconnect delay while Redis is down: 50 ms more per attempt, capped at 200 ms (its default caps
 * at 2 s), so the queues, workers and rate limiter are back within a fraction of a second of Redis's return.
 * A refused local connection costs next to nothing; five attempts a second per connection is the price.
 */
export function redisRetryDelay(times: number): number {
  return Math.min(times * 50, 200);
}

/**
 * BullMQ needs `maxRetriesPerRequest: null` on worker connections so blocking commands survive a Redis
 * restart; the same options are fine for queues. Nothing on a request's path awaits this connection (the
 * intake's enqueues are fire-and-forget; reconciliation covers a lost one), so it may queue commands offline.
 */
export function connectRedis(target: RedisTarget, name = 'countersign'): Redis {
  return openRedis(target, { maxRetriesPerRequest: null, enableReadyCheck: true, connectionName: name, lazyConnect: false, retryStrategy: redisRetryDelay });
}

/**
 * Closes a connection without dropping replies in flight: a client still connecting (an instance closed moments
 * after it started) is first given the chance to connect, so the commands queued meanwhile are sent and answered
 * instead of being rejected unhandled ("Connection is closed."); then QUIT, which answers after every earlier
 * reply. Both waits are bounded by `ms`: during an outage nothing answers, and a close must not hang.
 */
export async function closeRedis(client: Redis, ms = 1000): Promise<void> {
  const bounded = <T>(p: Promise<T>) => Promise.race([p, new Promise<void>((r) => setTimeout(r, ms).unref())]);
  if (client.status === 'connecting' || client.status === 'connect' || client.status === 'reconnecting') {
    await bounded(new Promise<void>((resolve) => client.once('ready', () => resolve())));
  }
  if (client.status === 'ready') await bounded(client.quit().then(() => undefined, () => undefined));
  client.disconnect();
}

