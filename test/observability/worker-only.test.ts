import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pool, postAction, readAction, startApi, startChaosStack, startWorker, waitFor, type ChaosStack } from '../chaos/support';
import type { ServeProcess } from '../support/process';

/**
 * An API-only and a worker-only process (`serve --api-only`, `serve --worker-only`): the release counters
 * live where the workers run, so the worker-only process must be scrapeable (docs/operations.md, "Worker-only
 * processes").
 */
let stack: ChaosStack;
let api: ServeProcess;
let worker: ServeProcess;
let token: string;

beforeAll(async () => {
  stack = await startChaosStack({ prefix: 'worker-metrics' });
  [api, worker] = await Promise.all([startApi('api', stack.env), startWorker('worker', stack.env)]);
  ({ token } = await stack.agent('metrics-bot'));
}, 120_000);
afterAll(async () => stack?.close([api, worker]), 60_000);

/** The value of one sample, or 0 when the series does not exist (yet). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const m = /^([^{\s]+)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return 0;
}

const scrape = async (p: ServeProcess) => {
  const res = await fetch(`${p.url}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
};

describe('a worker-only process', () => {
  it('serves /metrics, /healthz and /readyz on PORT, and nothing else', async () => {
    expect(new URL(worker.url).port).not.toBe('0');
    expect((await fetch(`${worker.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${worker.url}/readyz`)).status).toBe(200);
    const other = await fetch(`${worker.url}/v1/actions`, { method: 'POST' });
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).toContain('application/problem+json');
  });

  it('reports the releases it made; the API-only process reports the intake', async () => {
    const responses = await pool(Array.from({ length: 10 }, (_, i) => i), 5, () => postAction(api.url, token, readAction('worker-metrics')));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(201));
    await waitFor(async () => sample(await scrape(worker), 'countersign_executor_calls_total', { executor: 'automation', result: 'success' }) === 10, 30_000, 'ten executor calls counted by the worker');
    const w = await scrape(worker);
    const a = await scrape(api);
    expect(sample(w, 'countersign_releases_total', { outcome: 'committed' })).toBe(10);
    expect(sample(a, 'countersign_executor_calls_total', { executor: 'automation', result: 'success' })).toBe(0);
    expect(sample(a, 'countersign_decisions_total', { decision: 'allow', status: 'queued' })).toBe(10);
    // Both see the same database-wide backlog and the dependencies.
    expect(sample(w, 'countersign_dependency_up', { dependency: 'database' })).toBe(1);
    expect(sample(w, 'countersign_dependency_up', { dependency: 'redis' })).toBe(1);
  });
});
