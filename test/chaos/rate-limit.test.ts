import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServeProcess } from '../support/process';
import { insertApproved } from '../release/support';
import { exactlyOnceFigures, startChaosStack, startWorker, waitFor, type ChaosStack } from './support';

const ACTIONS = 24;
const MAX = 4;
const WINDOW_MS = 1000;
// The gateway counts a release when it takes the slot and pads its window (windowPadMs, 250 ms here) so that
// arrivals at the executor, a little later and not all equally late, still fit: the executor-side count uses
// the full window the limit names.
let stack: ChaosStack;
let db: ChaosStack['db'];
let executor: ChaosStack['executor'];
let procs: ServeProcess[] = [];
let agentId: string;

beforeAll(async () => {
  // A slow executor: calls overlap, so only the release rate limit keeps the count per window down.
  stack = await startChaosStack({
    prefix: 'chaos-rate',
    respond: () => ({ status: 200, body: { ok: true }, delayMs: 700 }),
    executorExtra: `    rate_limit: { max: ${MAX}, per_seconds: ${WINDOW_MS / 1000} }\n`,
    env: { COUNTERSIGN_COMMIT_CONCURRENCY: '8' },
  });
  ({ db, executor } = stack);
  procs = await Promise.all([startWorker('worker-1', stack.env), startWorker('worker-2', stack.env)]);
  ({ agent: { id: agentId } } = await stack.agent('rate-bot'));
}, 120_000);

afterAll(async () => {
  await stack?.close(procs);
}, 60_000);

describe('chaos: release rate limit with a slow executor, two workers', () => {
  it('never releases more than max per window across workers (counted at the executor), and commits all once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < ACTIONS; i++) ids.push(await insertApproved(db, agentId));
    await waitFor(async () => Number((await db.sql`select count(*)::int as n from actions where status = 'committed'`)[0]!.n) === ACTIONS, 90_000, 'all committed', 300);

    const arrivals = executor.calls.map((c) => c.arrivedAt).sort((a, b) => a - b);
    const busiestIn = (windowMs: number) => {
      let most = 0;
      for (let i = 0, j = 0; i < arrivals.length; i++) {
        while (j < arrivals.length && arrivals[j]! < arrivals[i]! + windowMs) j++;
        most = Math.max(most, j - i);
      }
      return most;
    };
    const busiest = busiestIn(WINDOW_MS);
    const f = await exactlyOnceFigures(db.sql, executor, ids);
    const spanMs = arrivals.at(-1)! - arrivals[0]!;
    // The rate over the whole run: ACTIONS calls at MAX per window cannot fit in fewer windows than this,
    // however the arrivals jitter (a lower bound on the span; a slower machine only widens it).
    const minSpanMs = (Math.ceil(ACTIONS / MAX) - 1) * WINDOW_MS;
    console.log(
      `[chaos] release rate limit (${MAX}/${WINDOW_MS} ms, executor 700 ms, 2 workers × 8): actions=${ACTIONS} calls=${arrivals.length} ` +
        `busiest_${WINDOW_MS}ms_window_at_executor=${busiest} span_ms=${spanMs} (at least ${minSpanMs}) rate_per_s=${((arrivals.length - 1) / (spanMs / 1000)).toFixed(2)} ` +
        `committed=${f.committed} duplicates=${f.duplicateEffects + f.duplicateCommitEvents} lost=${f.lost} redelivered_calls=${f.redeliveredCalls}`,
    );
    expect(arrivals).toHaveLength(ACTIONS); // one call per action: none retried, none sent twice
    expect(busiest).toBeLessThanOrEqual(MAX);
    // 16 concurrent slots against MAX: the limit, not the workers, set the pace (the window filled up).
    expect(busiest).toBe(MAX);
    expect(spanMs).toBeGreaterThanOrEqual(minSpanMs);
    expect(f.lost).toBe(0);
    expect(f.duplicateEffects + f.duplicateCommitEvents).toBe(0);
  }, 150_000);
});
