import { Redis } from 'ioredis';

/**
 * BullMQ needs `maxRetriesPerRequest: null` on worker connections so blocking commands survive a Redis
 * restart; the same options are fine for queues.
 */
export function connectRedis(url: string, name = 'countersign'): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, connectionName: name, lazyConnect: false });
}
