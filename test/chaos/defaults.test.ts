import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { COMMIT_QUEUE } from '../../src/queue/commit-queue';
import type { ServeProcess } from '../support/process';
import { exactlyOnceFigures, postAction, readAction, startApi, startChaosStack, startWorker, waitFor, type ChaosStack } from './support';

/**
 * One fault run at the production defaults of src/config/env.ts (lease grace 30 s, reconciliation every 15 s,
 * BullMQ lock 60 s and stall check 30 s; every other chaos test shortens them):
 *
 * - a worker SIGKILLed while its executor call is in flight: the action is taken over once its lease and the
 *   job's lock have run out, called again with the same idempotency key, committed once;
 * - an API process SIGKILLed between the intake's write and its enqueue (Redis writes paused so the enqueue
 *   cannot complete): the written actions have no job until reconciliation queues them again.
 */
const DEFAULTS = {
  COUNTERSIGN_COMMIT_LOCK_MS: '60000',
  COUNTERSIGN_COMMIT_STALLED_INTERVAL_MS: '30000',
  COUNTERSIGN_LEASE_GRACE_MS: '30000',
  COUNTERSIGN_RECONCILE_EVERY_MS: '15000',
  COUNTERSIGN_SHUTDOWN_DEADLINE_MS: '30000',
};
// Under the executor timeout (2 s in writeConfig): the call succeeds, only late, so a kill lands mid-call.
const SLOW_MS = 1500;

let stack: ChaosStack;
let procs: ServeProcess[] = [];
let token: string;

beforeAll(async () => {
  stack = await startChaosStack({
    prefix: 'chaos-defaults',
    respond: (call) => ({ status: 200, body: { ok: true }, delayMs: String((call.body.params as { job?: string })?.job).startsWith('slow') ? SLOW_MS : 10 }),
    env: DEFAULTS,
  });
  procs = await Promise.all([startApi('api-1', stack.env), startWorker('worker-1', stack.env)]);
  ({ token } = await stack.agent('defaults-bot'));
}, 120_000);

afterAll(async () => {
  await stack?.close(procs);
}, 60_000);

describe('chaos: faults at the production default timings', () => {
  it('a worker killed mid-call and an API killed between write and enqueue: every action committed once', async () => {
    const { db, executor, redis } = stack;
    const committed = async (ids: string[]) => Number((await db.sql`select count(*)::int as n from actions where status = 'committed' and id = any(${ids})`)[0]!.n);

    // 1. The worker dies while the executor holds its call.
    const slow = await postAction(procs[0]!.url, token, { ...readAction('slow'), params: { job: 'slow-1' } });
    expect(slow.status).toBe(201);
    const slowId = slow.body.id as string;
    await waitFor(async () => executor.calls.some((c) => c.body.action_id === slowId), 30_000, 'the slow call in flight', 20);
    const workerKilledAt = Date.now();
    procs[1]!.kill('SIGKILL');
    await procs[1]!.exited;
    procs[1] = await startWorker('worker-2', stack.env);

    // 2. Load on the API; Redis writes paused (the enqueue hangs, the intake's write does not); the API killed.
    const sent: Array<{ body: Record<string, unknown>; status: number }> = [];
    let running = true;
    const load = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (running) {
          const body = readAction('defaults');
          const res = await postAction(procs[0]!.url, token, body).catch(() => ({ status: 0 }));
          sent.push({ body, status: res.status });
        }
      }),
    );
    await waitFor(async () => sent.filter((s) => s.status === 201).length >= 40, 60_000, 'load before the kill', 20);
    const admin = redis.client();
    await admin.call('CLIENT', 'PAUSE', '3000', 'WRITE');
    await new Promise((r) => setTimeout(r, 600));
    procs[0]!.kill('SIGKILL');
    await procs[0]!.exited;
    running = false;
    await load;
    await new Promise((r) => setTimeout(r, 2600)); // the pause ends
    await admin.call('CLIENT', 'UNPAUSE');
    admin.disconnect();

    // Written, not enqueued: queued rows without a job, before reconciliation (5 s age, every 15 s) runs.
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(COMMIT_QUEUE, { connection: conn, prefix: 'chaos-defaults' });
    const queuedRows = (await db.sql`select id from actions where status = 'queued'`) as unknown as Array<{ id: string }>;
    const orphans: string[] = [];
    for (const r of queuedRows) if (!(await queue.getJob(r.id))) orphans.push(r.id);
    await queue.close();
    conn.disconnect();
    const apiKilledAt = Date.now();

    // 3. Clients send their unanswered requests again (same idempotency key) to a new API process.
    procs[0] = await startApi('api-2', stack.env);
    for (const s of sent.filter((x) => x.status !== 201)) {
      const res = await waitFor(async () => {
        const r = await postAction(procs[0]!.url, token, s.body);
        return r.status === 201 ? r : null;
      }, 30_000, 'retried request accepted');
      s.status = res.status;
    }
    const rows = (await db.sql`select id, idempotency_key from actions`) as unknown as Array<{ id: string; idempotency_key: string }>;
    expect(rows.map((r) => r.idempotency_key).sort()).toEqual([...sent.map((s) => String(s.body.idempotency_key)), String(slow.body.idempotency_key ?? '')].filter(Boolean).sort());
    const ids = rows.map((r) => r.id);

    const orphansBackMs = orphans.length
      ? (await waitFor(async () => ((await committed(orphans)) === orphans.length ? Date.now() : null), 90_000, 'orphans committed', 200)) - apiKilledAt
      : 0;
    const takeoverMs =
      (await waitFor(async () => ((await committed([slowId])) === 1 ? Date.now() : null), 150_000, 'slow action taken over', 500).catch(async (e) => {
        const row = await db.sql`select status, attempts, lease_expires_at, updated_at, now() as now from actions where id = ${slowId}`;
        console.log('[debug]', JSON.stringify(row), executor.calls.filter((c) => c.body.action_id === slowId).length, procs[1]!.output().slice(-4000));
        throw e;
      })) - workerKilledAt;
    await waitFor(async () => (await committed(ids)) === ids.length, 90_000, 'all committed', 300);

    const f = await exactlyOnceFigures(db.sql, executor, ids);
    const slowCalls = executor.calls.filter((c) => c.body.action_id === slowId);
    const [started] = await db.sql`select data from audit_events where action_id = ${slowId} and type = 'commit.started' order by seq desc limit 1`;
    console.log(
      `[chaos] defaults: actions=${f.actions} api_kill_orphans=${orphans.length} orphans_committed_after_ms=${orphansBackMs} ` +
        `worker_kill_takeover_ms=${takeoverMs} slow_calls=${slowCalls.length} committed=${f.committed} duplicates=${f.duplicateEffects + f.duplicateCommitEvents} ` +
        `lost=${f.lost} redelivered_calls=${f.redeliveredCalls}`,
    );
    expect(orphans.length).toBeGreaterThan(0); // the kill landed between a write and its enqueue
    expect(f.lost).toBe(0);
    expect(f.duplicateEffects).toBe(0);
    expect(f.duplicateCommitEvents).toBe(0);
    // The one call in flight at the kill was sent again, same key; nothing else was.
    expect(slowCalls).toHaveLength(2);
    expect(new Set(slowCalls.map((c) => c.headers['idempotency-key'])).size).toBe(1);
    expect(f.redeliveredCalls).toBe(1);
    expect(started!.data.lease_taken_over).toBe(true);
    // Not before the lease (executor timeout 2 s + 30 s grace) ran out: the defaults really were in force.
    expect(takeoverMs).toBeGreaterThanOrEqual(32_000);
  }, 300_000);
});
