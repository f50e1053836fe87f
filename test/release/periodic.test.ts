import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { everyOnce, redisPeriodClaim } from '../../src/queue/periodic';
import { createTestDb, type TestDb } from '../support/db';
import { REDIS_URL, deletePrefix, uniquePrefix } from '../support/redis';

let db: TestDb;
const redises: Redis[] = [];
const prefix = uniquePrefix('periodic');

beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  for (const r of redises) r.disconnect();
  await db.drop();
  await deletePrefix(prefix);
});

describe('periodic tasks across instances', () => {
  it('run once per period across three instances, never two at a time', async () => {
    const period = 200;
    const starts: Array<{ at: number; instance: number }> = [];
    let active = 0;
    let maxActive = 0;
    const from = Date.now();
    const instances = [0, 1, 2].map((i) => {
      const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      redises.push(redis);
      // Each instance has its own pool, as separate processes would.
      return everyOnce(
        db.db,
        'reconcile',
        990001,
        period,
        async () => {
          starts.push({ at: Date.now(), instance: i });
          active++;
          maxActive = Math.max(maxActive, active);
          await new Promise((r) => setTimeout(r, 30));
          active--;
        },
        redisPeriodClaim(redis, prefix, `instance-${i}`),
      );
    });
    await new Promise((r) => setTimeout(r, period * 8));
    await Promise.all(instances.map((t) => t.stop()));
    const window = Date.now() - from;
    expect(maxActive).toBe(1);
    expect(starts.length).toBeGreaterThanOrEqual(2);
    // Three instances ticking every period would start up to three runs per period. A period claim lives
    // 90 % of the period on Redis's clock, so within the window at most window / (0.9 · period) + 1 runs can
    // start — however late the event loops are (lateness only means fewer runs).
    expect(starts.length).toBeLessThanOrEqual(Math.floor(window / (period * 0.9)) + 1);
  });

  it('without Redis the period claim fails open (tasks are idempotent; a missed run would be worse)', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: null, lazyConnect: true, retryStrategy: () => 1000 });
    dead.on('error', () => undefined);
    redises.push(dead);
    const claim = redisPeriodClaim(dead, prefix, 'x');
    expect(await claim('expiry', 1000)).toBe(true);
  });
});
