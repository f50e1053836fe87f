import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServeProcess } from '../support/process';
import { exactlyOnceFigures, pool, postAction, readAction, repeatsWithoutTakeover, startApi, startChaosStack, startWorker, waitFor, type ChaosStack } from './support';

const ACTIONS = 200;

let stack: ChaosStack;
let db: ChaosStack['db'];
let redis: ChaosStack['redis'];
let executor: ChaosStack['executor'];
let procs: ServeProcess[] = [];
let token: string;

beforeAll(async () => {
  stack = await startChaosStack({ prefix: 'chaos-flush', respond: () => ({ status: 200, body: { ok: true }, delayMs: 300 + Math.floor(Math.random() * 200) }) });
  ({ db, redis, executor } = stack);
  procs = await Promise.all([startApi('api-1', stack.env), startWorker('worker-1', stack.env), startWorker('worker-2', stack.env)]);
  ({ token } = await stack.agent('flush-bot'));
}, 120_000);

afterAll(async () => {
  await stack?.close(procs);
}, 60_000);

const committed = async () => Number((await db.sql`select count(*)::int as n from actions where status = 'committed'`)[0]!.n);

describe('chaos: Redis restarted and flushed mid-stream', () => {
  it('reconciliation queues again what Redis lost; every action committed once, none lost', async () => {
    // The flush comes while actions are still being accepted and released. The intake fails closed while
    // Redis is away (its rate limiter needs Redis): such requests are sent again, same idempotency key.
    let before = 0;
    let atRestart = 0;
    let retriedPosts = 0;
    const flush = (async () => {
      before = await waitFor(async () => {
        const n = await committed();
        return n >= ACTIONS / 5 ? n : null;
      }, 90_000, 'some commits before the flush', 50);
      await redis.flushAndRestart(1000);
      atRestart = await committed();
    })();
    const responses = await pool(Array.from({ length: ACTIONS }, (_, i) => i), 8, async () => {
      const body = readAction('flush');
      for (;;) {
        const res = await postAction(procs[0]!.url, token, body).catch(() => ({ status: 0, body: null, retryAfter: null }));
        if (res.status === 201) return res;
        retriedPosts++;
        await new Promise((r) => setTimeout(r, 250));
      }
    });
    await flush;
    const ids = responses.map((r) => r.body.id as string);

    await waitFor(async () => (await committed()) === ACTIONS, 90_000, 'every action committed after the flush', 300);
    const f = await exactlyOnceFigures(db.sql, executor, ids);
    const requeued = procs
      .flatMap((p) => p.output().split('\n'))
      .filter((l) => l.includes('reconciliation queued lost commits again'))
      .reduce((a, l) => a + Number(/"requeued":(\d+)/.exec(l)?.[1] ?? 0), 0);
    console.log(
      `[chaos] redis flush+restart: actions=${f.actions} committed_before_flush=${before} committed_at_restart=${atRestart} posts_sent_again=${retriedPosts} requeued_by_reconciliation=${requeued} ` +
        `committed=${f.committed} duplicates=${f.duplicateEffects + f.duplicateCommitEvents} lost=${f.lost} redelivered_calls=${f.redeliveredCalls}`,
    );
    expect(atRestart).toBeLessThan(ACTIONS); // the flush really was mid-stream
    expect(requeued).toBeGreaterThan(0);
    expect(f.notCommitted).toEqual([]);
    expect(f.lost).toBe(0);
    expect(f.duplicateEffects).toBe(0);
    expect(f.duplicateCommitEvents).toBe(0);
    expect(await repeatsWithoutTakeover(db.sql, executor)).toEqual([]);
    expect(executor.effects.size).toBe(ACTIONS);
  }, 200_000);
});
