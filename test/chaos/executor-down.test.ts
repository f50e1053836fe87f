import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CARD_QUEUE } from '../../src/queue/card-queue';
import type { ServeProcess } from '../support/process';
import { insertApproved } from '../release/support';
import { startChaosStack, startWorker, waitFor, type ChaosStack } from './support';

const ACTIONS = 5;
const MAX_ATTEMPTS = 3;

let stack: ChaosStack;
let db: ChaosStack['db'];
let redis: ChaosStack['redis'];
let procs: ServeProcess[] = [];
let agentId: string;

beforeAll(async () => {
  // The executor is down: its port refuses connections.
  stack = await startChaosStack({ prefix: 'chaos-down', down: true, maxAttempts: MAX_ATTEMPTS });
  ({ db, redis } = stack);
  procs = [await startWorker('worker-1', stack.env)];
  ({ agent: { id: agentId } } = await stack.agent('down-bot'));
}, 120_000);

afterAll(async () => {
  await stack?.close(procs);
}, 60_000);

describe('chaos: executor down', () => {
  it('retries with backoff up to max_attempts, then failed with an exception_record and a thread notice', async () => {
    const ids: string[] = [];
    for (let i = 0; i < ACTIONS; i++) ids.push(await insertApproved(db, agentId));
    await waitFor(
      async () => Number((await db.sql`select count(*)::int as n from actions where status = 'failed' and id = any(${ids})`)[0]!.n) === ACTIONS,
      60_000,
      'all failed',
      300,
    );
    const rows = await db.sql`select id, attempts, failure from actions where id = any(${ids})`;
    for (const r of rows) {
      expect(r.attempts).toBe(MAX_ATTEMPTS);
      expect(r.failure).toMatchObject({ code: 'retries-exhausted', reason: expect.stringMatching(/network error/) });
    }
    const events = await db.sql`select action_id, type from audit_events where action_id = any(${ids}) order by seq`;
    for (const id of ids) {
      const types = events.filter((e) => e.action_id === id).map((e) => e.type);
      expect(types.filter((t) => t === 'commit.retry')).toHaveLength(MAX_ATTEMPTS - 1);
      expect(types.slice(-2)).toEqual(['commit.failed', 'exception_record']);
    }
    // The Slack thread notice: one outcome card job per action (no Slack configured here, so it waits in the queue).
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const cards = new Queue(CARD_QUEUE, { connection: conn, prefix: 'chaos-down' });
    try {
      const jobs = await cards.getJobs(['waiting', 'delayed', 'prioritized']);
      const notified = new Set(jobs.filter((j) => j.data.kind === 'outcome').map((j) => j.data.action_id));
      expect([...notified].sort()).toEqual([...ids].sort());
    } finally {
      await cards.close();
      conn.disconnect();
    }
    console.log(`[chaos] executor down: actions=${ACTIONS} failed=${rows.length} attempts_each=${MAX_ATTEMPTS} exception_records=${ACTIONS} notices=${ACTIONS} lost=0`);
  }, 120_000);
});
