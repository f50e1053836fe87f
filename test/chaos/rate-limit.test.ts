import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServeProcess } from '../support/process';
import { insertApproved } from '../release/support';
import { exactlyOnceFigures, startChaosStack, startWorker, waitFor, type ChaosStack } from './support';

const ACTIONS = 24;
const MAX = 4;
const WINDOW_MS = 1000;
// The gateway counts a release when it takes the slot (and pads its window by windowPadMs); the request
// reaches the executor a little later, and on a loaded 2-core machine not all equally late. The executor-side
// count therefore uses a window this much shorter; the full-window figure is printed as well.
const ARRIVAL_JITTER_MS = 250;
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

    const arrivals = executor.calls.map((c) => c.at).sort((a, b) => a - b);
    const busiestIn = (windowMs: number) => {
      let most = 0;
      for (let i = 0, j = 0; i < arrivals.length; i++) {
        while (j < arrivals.length && arrivals[j]! < arrivals[i]! + windowMs) j++;
        most = Math.max(most, j - i);
      }
      return most;
    };
    const busiest = busiestIn(WINDOW_MS - ARRIVAL_JITTER_MS);
    const f = await exactlyOnceFigures(db.sql, executor, ids);
    const spanMs = arrivals.at(-1)! - arrivals[0]!;
    console.log(
      `[chaos] release rate limit (${MAX}/${WINDOW_MS} ms, executor 700 ms, 2 workers × 8): actions=${ACTIONS} calls=${arrivals.length} ` +
        `busiest_window_at_executor=${busiest} (${WINDOW_MS - ARRIVAL_JITTER_MS} ms; full ${WINDOW_MS} ms: ${busiestIn(WINDOW_MS)}) span_ms=${spanMs} committed=${f.committed} duplicates=${f.duplicateEffects + f.duplicateCommitEvents} lost=${f.lost}`,
    );
    expect(busiest).toBeLessThanOrEqual(MAX);
    expect(busiest).toBeGreaterThan(1); // the limit was actually reached, not an idle run
    expect(f.lost).toBe(0);
    expect(f.duplicateEffects + f.duplicateCommitEvents).toBe(0);
  }, 150_000);
});
