import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { COMMIT_QUEUE } from '../../src/queue/commit-queue';
import type { ServeProcess } from '../support/process';
import { exactlyOnceFigures, pool, postAction, readAction, startApi, startChaosStack, startWorker, waitFor, type ChaosStack } from './support';

const ACTIONS = 300;
const MAX_KILLS = 8;

let stack: ChaosStack;
let db: ChaosStack['db'];
let redis: ChaosStack['redis'];
let executor: ChaosStack['executor'];
let env: Record<string, string>;
let apis: ServeProcess[] = [];
const workers: Array<ServeProcess | null> = [null, null];
let token: string;

beforeAll(async () => {
  // Slow enough that a kill usually lands while calls are in flight (and that the batched release does not
  // drain all 300 actions between two kills).
  stack = await startChaosStack({ prefix: 'chaos-kill', respond: () => ({ status: 200, body: { ok: true }, delayMs: 40 + Math.floor(Math.random() * 160) }) });
  ({ db, redis, executor, env } = stack);
  const started = await Promise.all([startApi('api-1', env), startApi('api-2', env), startWorker('worker-1', env), startWorker('worker-2', env)]);
  apis = started.slice(0, 2);
  workers[0] = started[2]!;
  workers[1] = started[3]!;
  ({ token } = await stack.agent('chaos-bot'));
}, 120_000);

afterAll(async () => {
  await stack?.close([...apis, ...workers]);
}, 60_000);

describe('chaos: workers SIGKILLed at random moments', () => {
  it('every approved action is committed exactly once, none lost', async () => {
    let finished = false;
    let kills = 0;
    const killTimes: number[] = [];
    const restarts: Promise<unknown>[] = [];
    const chaos = (async () => {
      await waitFor(async () => executor.calls.length > 0, 60_000, 'first executor call', 50);
      while (!finished && kills < MAX_KILLS) {
        await new Promise((r) => setTimeout(r, 250 + Math.random() * 500));
        if (finished) break;
        const i = Math.floor(Math.random() * workers.length);
        const victim = workers[i];
        if (!victim) continue;
        workers[i] = null;
        killTimes.push(Date.now());
        victim.kill('SIGKILL');
        await victim.exited;
        kills++;
        restarts.push(
          startWorker(`worker-${i + 1}-r${kills}`, env).then((w) => {
            if (finished) w.kill('SIGKILL');
            else workers[i] = w;
          }),
        );
      }
    })();

    const responses = await pool(Array.from({ length: ACTIONS }, (_, i) => i), 12, (i) => postAction(apis[i % 2]!.url, token, readAction('kill')));
    expect(responses.filter((r) => r.status !== 201)).toEqual([]);
    const ids = responses.map((r) => r.body.id as string);
    // A commit job delivered twice: a second job (another job id, same action) for every fifth action.
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(COMMIT_QUEUE, { connection: conn, prefix: 'chaos-kill' });
    const doubled = ids.filter((_, i) => i % 5 === 0);
    await Promise.all(doubled.map((id) => queue.add('commit', { action_id: id }, { jobId: `dup-${id}`, removeOnComplete: true, removeOnFail: true })));
    await queue.close();
    conn.disconnect();

    try {
      await waitFor(
        async () => Number((await db.sql`select count(*)::int as n from actions where status = 'committed'`)[0]!.n) === ACTIONS,
        150_000,
        'every action committed',
        300,
      );
    } catch (e) {
      const states = await db.sql`select status, count(*)::int as n from actions group by status`;
      console.log('[chaos] states at timeout', states, workers.map((w) => w?.output().slice(-3000)));
      throw e;
    } finally {
      finished = true;
      await chaos;
      await Promise.allSettled(restarts);
    }
    const f = await exactlyOnceFigures(db.sql, executor, ids);
    // Calls whose caller hung up before the answer: the victim's calls in flight, seen from the executor's side
    // (its effect happened; the caller never heard). A kill "landed in flight" when it cut at least one.
    const abandoned = executor.calls.filter((c) => c.abandonedAt !== undefined);
    const killedInFlight = killTimes.filter((t) => abandoned.some((c) => c.abandonedAt! >= t && c.abandonedAt! < t + 2000)).length;
    const callsPerKey = new Map<string, number>();
    for (const c of executor.calls) callsPerKey.set(String(c.headers['idempotency-key']), (callsPerKey.get(String(c.headers['idempotency-key'])) ?? 0) + 1);
    const abandonedActions = [...new Set(abandoned.map((c) => String(c.body.action_id)))];
    const takenOver = (
      await db.sql`select distinct action_id from audit_events where type = 'commit.started' and (data ->> 'lease_taken_over')::boolean and action_id = any(${abandonedActions})`
    ).map((r) => String(r.action_id));
    console.log(
      `[chaos] worker kills: actions=${f.actions} kills=${kills} (cutting calls in flight: ${killedInFlight}, calls cut: ${abandoned.length}) committed=${f.committed} ` +
        `jobs_delivered_twice=${doubled.length} duplicates=${f.duplicateEffects + f.duplicateCommitEvents} lost=${f.lost} redelivered_calls=${f.redeliveredCalls} (deduplicated by idempotency key)`,
    );
    expect(kills).toBeGreaterThanOrEqual(3);
    // The kills really cut calls in flight, and every cut call was recovered the way the guarantee says: its
    // action taken over after the lease (commit.started with lease_taken_over) and called again with the same
    // idempotency key, one effect in all.
    expect(killedInFlight).toBeGreaterThanOrEqual(1);
    expect(takenOver.sort()).toEqual([...abandonedActions].sort());
    for (const c of abandoned) expect(callsPerKey.get(String(c.headers['idempotency-key']))).toBeGreaterThanOrEqual(2);
    expect(abandonedActions.map((id) => executor.effects.get(id))).toEqual(abandonedActions.map(() => 1));
    expect(f.notCommitted).toEqual([]);
    expect(f.lost).toBe(0);
    expect(f.duplicateEffects).toBe(0);
    expect(f.duplicateCommitEvents).toBe(0);
    expect(executor.effects.size).toBe(ACTIONS);
    expect(executor.calls.every((c) => c.signatureValid)).toBe(true);
  }, 200_000);
});
