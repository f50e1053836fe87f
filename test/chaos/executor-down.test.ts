import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CARD_QUEUE } from '../../src/queue/card-queue';
import type { ServeProcess } from '../support/process';
import { startTestExecutor } from '../support/executor-server';
import { EXECUTOR_SECRET } from '../support/harness';
import { insertApproved } from '../release/support';
import { exactlyOnceFigures, startChaosStack, startWorker, waitFor, type ChaosStack } from './support';

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
    // Backoff: attempt n+1 starts no sooner than BullMQ's exponential delay after attempt n failed
    // (500 ms × 2^(n-1), less at most half for jitter). Lower bounds only: a loaded machine is only slower.
    const base = { delay: 500, jitter: 0.5 }; // docs/release.md; written out so a changed backoff fails here
    const timeline = (await db.sql`
      select action_id, type, extract(epoch from created_at) * 1000 as at from audit_events
      where action_id = any(${ids}) and type in ('commit.started', 'commit.retry') order by seq`) as unknown as Array<{ action_id: string; type: string; at: number }>;
    const gaps: number[][] = [];
    for (const id of ids) {
      const mine = timeline.filter((e) => e.action_id === id);
      const g: number[] = [];
      for (let n = 1; n < MAX_ATTEMPTS; n++) {
        const retry = mine.filter((e) => e.type === 'commit.retry')[n - 1]!;
        const next = mine.filter((e) => e.type === 'commit.started')[n]!;
        g.push(Number(next.at) - Number(retry.at));
      }
      gaps.push(g);
    }
    for (const g of gaps) {
      g.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(base.delay * 2 ** i * (1 - base.jitter) - 5));
    }
    console.log(`[chaos] executor down: actions=${ACTIONS} failed=${rows.length} attempts_each=${MAX_ATTEMPTS} exception_records=${ACTIONS} notices=${ACTIONS} lost=0 backoff_gaps_ms=${JSON.stringify(gaps.map((g) => g.map(Math.round)))}`);
  }, 120_000);

  it('commits once the executor is back, on a later attempt, once', async () => {
    const port = Number(new URL(stack.executor.url).port);
    const id = await insertApproved(db, agentId);
    // The first attempt fails on the closed port; the executor comes back during the backoff.
    await waitFor(async () => (await db.sql`select 1 from audit_events where action_id = ${id} and type = 'commit.retry'`).length > 0, 30_000, 'a failed attempt', 50);
    const back = await startTestExecutor(EXECUTOR_SECRET, { port });
    try {
      await waitFor(async () => (await db.sql`select 1 from actions where id = ${id} and status = 'committed'`).length > 0, 30_000, 'committed after the return', 100);
      const [row] = await db.sql`select attempts from actions where id = ${id}`;
      expect(row!.attempts).toBeGreaterThanOrEqual(2);
      const f = await exactlyOnceFigures(db.sql, back, [id]);
      expect(f).toMatchObject({ committed: 1, lost: 0, duplicateEffects: 0, duplicateCommitEvents: 0, redeliveredCalls: 0 });
      console.log(`[chaos] executor back: committed at attempt ${row!.attempts}, calls=${back.calls.length}`);
    } finally {
      await back.close();
    }
  }, 60_000);
});
