import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The machine's shared Redis. Tests use only their own key prefix there and delete it afterwards. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function uniquePrefix(label = 't'): string {
  return `cs-test:${label}:${randomBytes(5).toString('hex')}`;
}

/** Deletes every key under a prefix (SCAN, never KEYS or FLUSHALL on the shared server). */
export async function deletePrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
