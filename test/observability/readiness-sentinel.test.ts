import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { openRedis } from '../../src/queue/redis-target';
import { readinessChecks } from '../../src/observability';
import { createTestDb, type TestDb } from '../support/db';
import { startSentinelGroup, type SentinelGroup } from '../support/private-sentinel';
import { waitFor } from '../chaos/support';

// Readiness through Sentinel says why Redis cannot be reached: with a wrong REDIS_SENTINEL_NAME the sentinels
// answer, but know no such primary. The check fails at once with the sentinel's own words (a ping would wait
// in the offline queue and time out saying nothing), which the probe logs (docs/operations.md).
let group: SentinelGroup;
let db: TestDb;
const opened: Redis[] = [];

beforeAll(async () => {
  [group, db] = await Promise.all([startSentinelGroup({ replicas: 0, sentinels: 1 }), createTestDb()]);
}, 60_000);
afterAll(async () => {
  for (const r of opened) r.disconnect();
  await group?.close();
  await db?.drop();
});

function open(name: string): Redis {
  const redis = openRedis({ kind: 'sentinel', sentinels: group.sentinels, name }, { maxRetriesPerRequest: null, lazyConnect: false, retryStrategy: () => 100 });
  redis.on('error', () => undefined);
  opened.push(redis);
  return redis;
}

describe('readiness through Sentinel', { timeout: 30_000 }, () => {
  it('fails at once with what the sentinels said of a primary they do not monitor', async () => {
    const redis = open('no-such-primary');
    const checks = readinessChecks(db.db, redis);
    // Before the client has told why, the check can only ping and wait (the probe bounds it); after, it fails at once.
    await new Promise((r) => redis.once('error', r));
    const reason = await checks.redis().then(() => null, (e: Error) => e.message);
    expect(reason).toMatch(/^not connected: All sentinels are unreachable\. .*Last error: ERR No such master with that name$/);
  });

  it('is ready with the right name (the check above can pass)', async () => {
    const checks = readinessChecks(db.db, open(group.name));
    await waitFor(async () => checks.redis().then(() => true, () => false), 10_000, 'ready', 100);
    expect(await checks.redis()).toBe('PONG');
  });
});
