import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { sql } from 'drizzle-orm';
import { connectDb } from '../../src/db/client';
import { execRows } from '../../src/db/exec';
import { everyOnce, ifLeaseTaken, redisPeriodClaim } from '../../src/queue/periodic';
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
        period,
        async () => {
          starts.push({ at: Date.now(), instance: i });
          active++;
          maxActive = Math.max(maxActive, active);
          await new Promise((r) => setTimeout(r, 30));
          active--;
        },
        redisPeriodClaim(redis, prefix, `instance-${i}`),
        `instance-${i}`,
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

  it('without a period claim the lease alone keeps runs from overlapping across instances', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const tasks = [0, 1, 2].map((i) =>
      everyOnce(
        db.db,
        'overlap-check',
        20,
        async () => {
          runs++;
          active++;
          maxActive = Math.max(maxActive, active);
          await new Promise((r) => setTimeout(r, 60));
          active--;
        },
        undefined,
        `instance-${i}`,
      ),
    );
    await new Promise((r) => setTimeout(r, 600));
    await Promise.all(tasks.map((t) => t.stop()));
    expect(runs).toBeGreaterThanOrEqual(2);
    expect(maxActive).toBe(1);
  });

  it('a live lease is respected, a lapsed one (its holder died) is taken over', async () => {
    await db.sql`insert into periodic_leases (task, holder, expires_at) values ('held', 'elsewhere:1', now() + interval '1 minute'), ('lapsed', 'dead:1', now() - interval '1 second')`;
    let ran = 0;
    expect(await ifLeaseTaken(db.db, 'held', 'me:1', async () => void ran++)).toBe(false);
    expect(await ifLeaseTaken(db.db, 'lapsed', 'me:1', async () => void ran++)).toBe(true);
    expect(ran).toBe(1);
    // Given back when the run ended: free for the next one at once.
    expect(await ifLeaseTaken(db.db, 'lapsed', 'me:2', async () => void ran++)).toBe(true);
    expect(ran).toBe(2);
  });

  it('a run holds no connection while its task runs: it completes on a pool of one connection', async () => {
    // The advisory-lock version held a transaction for the whole run, so a task's own query on a one-connection
    // pool (or behind a PgBouncer whose server pool was taken by such runs) waited for ever.
    const one = connectDb(db.url, { max: 1, waitBudgetMs: 2000 });
    try {
      const done = new Promise<number>((resolve, reject) => {
        const t = everyOnce(one.db, 'one-connection', 20, async () => {
          const [row] = await execRows<{ n: number }>(one.db, sql`select 1 as n`);
          void t.stop();
          resolve(Number(row!.n));
        });
        setTimeout(() => reject(new Error('the task did not complete on a one-connection pool')), 5000);
      });
      expect(await done).toBe(1);
    } finally {
      await one.close();
    }
  });
});
