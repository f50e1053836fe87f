// Release throughput: approved commits drained through BullMQ to a local executor by Countersign's commit
// worker, against plain BullMQ add-and-process of the same jobs calling the same executor.
// `node bin/run-ts.js bench/release.ts`.
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { COMMIT_QUEUE, COMMIT_JOB_OPTIONS } from '../src/queue/commit-queue';
import { signBody, SIGNATURE_HEADER } from '../src/executor/signature';
import { benchServices, EXECUTOR_SECRET, REDIS_URL } from './lib/services';
import { httpLoad } from './lib/http-load';
import { round } from './lib/stats';

type Drain = { jobs: number; seconds: number; throughput_per_s: number };
export type ReleaseResult = {
  name: 'release';
  target_ratio: number;
  worker_concurrency: number;
  countersign: Drain;
  baseline: Drain;
  ratio: number;
  /** From the worker instance's own /metrics registry: what each job ended as, and the executor's share. */
  release_outcomes: Record<string, number>;
  executor_mean_latency_ms: number | null;
  notes: string[];
};

const CONCURRENCY = 8; // the commit worker's default

export async function runReleaseBench(opts: { jobs?: number; creationBudgetMs?: number } = {}): Promise<ReleaseResult> {
  const jobs = opts.jobs ?? 1500;
  const svc = await benchServices('release');
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(COMMIT_QUEUE, { connection: redis, prefix: svc.prefix });
  try {
    // 1. Approved actions, their commit jobs held in a paused queue.
    await queue.pause();
    const api = await svc.start({}, { workers: false });
    const { token } = await svc.agent('bench-release');
    // Bounded by count and by time: on a loaded machine the intake, not this benchmark, sets the pace.
    let created = 0;
    const creationDeadline = Date.now() + (opts.creationBudgetMs ?? 10_000);
    while (created < jobs && Date.now() < creationDeadline) {
      const load = await httpLoad({ url: api.url, token, concurrency: 16, warmupMs: 0, durationMs: 1000, actionClass: 'external_automation.read.jobs', tag: `r${created}` });
      created += load.statuses['201'] ?? 0;
    }
    await waitFor(async () => (await queue.count()) >= created, 30_000);
    const total = await queue.count();

    // 2. Countersign's worker (its own instance, no API) drains them once the queue is resumed.
    const worker = await svc.start({}, { api: false });
    const committed = async () => Number((await svc.db.sql`select count(*)::int as n from actions where status = 'committed'`)[0]!.n);
    const t0 = performance.now();
    await queue.resume();
    await waitFor(async () => (await committed()) >= total, 120_000, 50);
    const csSeconds = (performance.now() - t0) / 1000;
    const workerMetrics = await worker.metrics.registry.getMetricsAsJSON();
    const outcomes = Object.fromEntries(
      (workerMetrics.find((m) => m.name === 'countersign_releases_total')?.values ?? []).map((v) => [String(v.labels.outcome), v.value]),
    );
    const latency = workerMetrics.find((m) => m.name === 'countersign_executor_latency_seconds')?.values ?? [];
    const sum = latency.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value ?? 0;
    const count = latency.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value ?? 0;
    await worker.close();

    // 3. Baseline: the same number of jobs, same options and concurrency, processed by a bare BullMQ worker that
    //    makes the same signed call to the same executor.
    const baseQueue = new Queue('baseline', { connection: redis, prefix: svc.prefix });
    await baseQueue.pause();
    await baseQueue.addBulk(Array.from({ length: total }, (_, i) => ({ name: 'commit', data: { action_id: `act_base_${i}` }, opts: { ...COMMIT_JOB_OPTIONS, jobId: `act_base_${i}` } })));
    let done = 0;
    const base = new Worker(
      'baseline',
      async (job) => {
        const body = JSON.stringify({ action_id: job.data.action_id, action_class: 'external_automation.read.jobs', params: {}, idempotency_key: job.data.action_id, dry_run: false });
        const res = await fetch(svc.executor.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': job.data.action_id, [SIGNATURE_HEADER]: signBody(EXECUTOR_SECRET, body) },
          body,
        });
        await res.text();
        done++;
      },
      { connection: new Redis(REDIS_URL, { maxRetriesPerRequest: null }), prefix: svc.prefix, concurrency: CONCURRENCY },
    );
    await base.waitUntilReady();
    const t1 = performance.now();
    await baseQueue.resume();
    await waitFor(async () => done >= total, 120_000, 5);
    const baseSeconds = (performance.now() - t1) / 1000;
    await base.close();
    await baseQueue.close();

    const countersign = { jobs: total, seconds: round(csSeconds, 3), throughput_per_s: round(total / csSeconds, 1) };
    const baseline = { jobs: total, seconds: round(baseSeconds, 3), throughput_per_s: round(total / baseSeconds, 1) };
    return {
      name: 'release',
      target_ratio: 0.5,
      worker_concurrency: CONCURRENCY,
      countersign,
      baseline,
      ratio: round(countersign.throughput_per_s / baseline.throughput_per_s, 3),
      release_outcomes: outcomes,
      executor_mean_latency_ms: count ? round((sum / count) * 1000, 2) : null,
      notes: [
        `${total} approved actions queued (paused) through the intake, then drained by the commit worker (concurrency ${CONCURRENCY}): claim with lease, re-checks, signed executor call, outcome + evidence; timed from resume to the last row committed`,
        'baseline: the same number of jobs with the same job options, processed by a plain BullMQ worker at the same concurrency making the same signed POST to the same executor; timed from resume to the last job processed',
      ],
    };
  } finally {
    await queue.close();
    redis.disconnect();
    await svc.close();
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('release bench: timed out');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runReleaseBench({ jobs: Number(process.argv[2] ?? 1500) }), null, 2));
  process.exit(0);
}
