import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServeProcess } from '../support/process';
import { insertApproved } from '../release/support';
import { exactlyOnceFigures, startChaosStack, startWorker, waitFor, type ChaosStack } from './support';

let stack: ChaosStack;
let db: ChaosStack['db'];
let executor: ChaosStack['executor'];
let env: Record<string, string>;
const procs: ServeProcess[] = [];
let agentId: string;

beforeAll(async () => {
  stack = await startChaosStack({ prefix: 'chaos-term', respond: () => ({ status: 200, body: { ok: true }, delayMs: 1200 }), env: { COUNTERSIGN_COMMIT_CONCURRENCY: '2' } });
  ({ db, executor, env } = stack);
  ({ agent: { id: agentId } } = await stack.agent('term-bot'));
}, 60_000);

afterAll(async () => {
  await stack?.close(procs);
}, 60_000);

const statusOf = async (ids: string[]) =>
  (await db.sql`select id, status from actions where id = any(${ids})`) as unknown as Array<{ id: string; status: string }>;

describe('SIGTERM', () => {
  it('stops taking work, lets in-flight executor calls finish and record, and exits 0', async () => {
    const worker = await startWorker('worker-term', env);
    procs.push(worker);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await insertApproved(db, agentId));
    await waitFor(async () => executor.calls.length >= 1, 30_000, 'a call in flight', 20);
    worker.kill('SIGTERM');
    const exit = await worker.exited;
    expect(exit).toEqual({ code: 0, signal: null });

    const states = await statusOf(ids);
    const called = new Set(executor.calls.map((c) => String(c.body.action_id)));
    // Every call that was in flight finished and its outcome was recorded; nothing is left `executing`.
    expect(states.filter((s) => s.status === 'executing')).toEqual([]);
    for (const s of states) if (called.has(s.id)) expect(s.status).toBe('committed');
    // No new work after the signal: the signal came while the first call was in flight (each takes 1.2 s), so
    // only the jobs already active then (concurrency 2) reached the executor.
    expect(executor.calls.length).toBeLessThanOrEqual(2);
    const left = states.filter((s) => s.status !== 'committed');
    expect(left.length).toBeGreaterThan(0);
    expect(left.every((s) => s.status === 'queued' || s.status === 'approved')).toBe(true);

    // The rest is not lost: the next worker picks it up.
    const next = await startWorker('worker-next', env);
    procs.push(next);
    await waitFor(async () => (await statusOf(ids)).every((s) => s.status === 'committed'), 60_000, 'rest committed', 200);
    const f = await exactlyOnceFigures(db.sql, executor, ids);
    console.log(`[chaos] SIGTERM drain: actions=${ids.length} committed_before_exit=${ids.length - left.length} exit_code=${exit.code} duplicates=${f.duplicateEffects + f.duplicateCommitEvents} lost=${f.lost}`);
    expect(f.lost).toBe(0);
    expect(f.duplicateEffects + f.duplicateCommitEvents).toBe(0);
    next.kill('SIGTERM');
    expect((await next.exited).code).toBe(0);
  }, 120_000);

  it('past the shutdown deadline it exits 1; the lease runs out and another worker finishes the commit once', async () => {
    const worker = await startWorker('worker-deadline', { ...env, COUNTERSIGN_SHUTDOWN_DEADLINE_MS: '200' });
    procs.push(worker);
    const before = executor.calls.length;
    const id = await insertApproved(db, agentId);
    await waitFor(async () => executor.calls.length > before, 30_000, 'the call in flight', 20);
    worker.kill('SIGTERM');
    expect((await worker.exited).code).toBe(1);
    expect((await statusOf([id]))[0]!.status).toBe('executing');
    const next = await startWorker('worker-after-deadline', env);
    procs.push(next);
    await waitFor(async () => (await statusOf([id]))[0]!.status === 'committed', 60_000, 'taken over and committed', 200);
    expect(executor.effects.get(id)).toBe(1);
    const started = await db.sql`select data from audit_events where action_id = ${id} and type = 'commit.started' order by seq`;
    expect(started.at(-1)!.data).toMatchObject({ lease_taken_over: true });
  }, 120_000);
});
