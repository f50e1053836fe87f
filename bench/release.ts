// Release throughput: approved commits drained through BullMQ to a local executor by Countersign's commit
// worker, against plain BullMQ add-and-process of the same jobs calling the same executor.
// `node bin/run-ts.js bench/release.ts`.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { COMMIT_QUEUE, COMMIT_JOB_OPTIONS, type CommitJob } from '../src/queue/commit-queue';
import { relayOutbox } from '../src/queue/relay';
import { postText } from '../src/executor/http-post';
import { signBody, SIGNATURE_HEADER } from '../src/executor/signature';
import { benchServices, EXECUTOR_SECRET, REDIS_URL } from './lib/services';
import { httpLoad } from './lib/http-load';
import { round } from './lib/stats';

/** `event_loop_ms_per_job`: this process's event-loop busy time over the drain (worker, executor and bench share it), per job. */
type Drain = { jobs: number; seconds: number; throughput_per_s: number; event_loop_ms_per_job: number };
export type ReleaseResult = {
  name: 'release';
  target_ratio: number;
  worker_concurrency: number;
  countersign: Drain;
  baseline: Drain;
  ratio: number;
  /**
   * The baseline again with fetch instead of Countersign's own HTTP client (node:http), and the ratio against it:
   * for reading only. The target is judged against `baseline`, which makes its calls with the same client as
   * Countersign, so that a faster client is not counted as a cheaper release path.
   */
  baseline_fetch: Drain;
  ratio_fetch: number;
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
  const queue = new Queue<CommitJob>(COMMIT_QUEUE, { connection: redis, prefix: svc.prefix });
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
    // The API-only instance relays on each request's kick, at most 100 rows per pass; a fast intake can leave a
    // backlog that only a worker instance's periodic relay would sweep. Sweep it here, before timing starts.
    while ((await relayOutbox(svc.db.db, queue)) > 0);
    await waitFor(async () => (await queue.count()) >= created, 30_000);
    const total = await queue.count();

    // 2. Countersign's worker (its own instance, no API) drains them once the queue is resumed.
    const worker = await svc.start({}, { api: false });
    const committed = async () => Number((await svc.db.sql`select count(*)::int as n from actions where status = 'committed'`)[0]!.n);
    const profile = await startProfile();
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    await queue.resume();
    await waitFor(async () => (await committed()) >= total, 120_000, 50);
    const csSeconds = (performance.now() - t0) / 1000;
    const csBusyMs = performance.eventLoopUtilization(elu0).active;
    await profile?.stop();
    const workerMetrics = await worker.metrics.registry.getMetricsAsJSON();
    const outcomes = Object.fromEntries(
      (workerMetrics.find((m) => m.name === 'countersign_releases_total')?.values ?? []).map((v) => [String(v.labels.outcome), v.value]),
    );
    const latency = workerMetrics.find((m) => m.name === 'countersign_executor_latency_seconds')?.values ?? [];
    const sum = latency.find((v) => (v as { metricName?: string }).metricName?.endsWith('_sum'))?.value ?? 0;
    const count = latency.find((v) => (v as { metricName?: string }).metricName?.endsWith('_count'))?.value ?? 0;
    await worker.close();

    const drainBaseline = async (
      name: string,
      post: (url: string, headers: Record<string, string>, body: string) => Promise<void>,
      profileSuffix: string,
    ): Promise<Drain> => {
      const baseQueue = new Queue(name, { connection: redis, prefix: svc.prefix });
      await baseQueue.pause();
      await baseQueue.addBulk(Array.from({ length: total }, (_, i) => ({ name: 'commit', data: { action_id: `act_base_${i}` }, opts: { ...COMMIT_JOB_OPTIONS, jobId: `act_base_${i}` } })));
      let done = 0;
      const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
      const base = new Worker(
        name,
        async (job) => {
          const body = JSON.stringify({ action_id: job.data.action_id, action_class: 'external_automation.read.jobs', params: {}, idempotency_key: job.data.action_id, dry_run: false });
          await post(svc.executor.url, { 'content-type': 'application/json', 'idempotency-key': job.data.action_id, [SIGNATURE_HEADER]: signBody(EXECUTOR_SECRET, body) }, body);
          done++;
        },
        { connection, prefix: svc.prefix, concurrency: CONCURRENCY },
      );
      await base.waitUntilReady();
      const profile = await startProfile(profileSuffix);
      const elu = performance.eventLoopUtilization();
      const t = performance.now();
      await baseQueue.resume();
      await waitFor(async () => done >= total, 120_000, 5);
      const seconds = (performance.now() - t) / 1000;
      const busyMs = performance.eventLoopUtilization(elu).active;
      await profile?.stop();
      await base.close();
      await baseQueue.close();
      connection.disconnect();
      return { jobs: total, seconds: round(seconds, 3), throughput_per_s: round(total / seconds, 1), event_loop_ms_per_job: round(busyMs / total, 3) };
    };

    // 3. Baseline: the same number of jobs, same options and concurrency, processed by a bare BullMQ worker that
    //    makes the same signed call to the same executor with the same HTTP client (src/executor/http-post.ts).
    //    Then the same again with fetch, so that what the client alone is worth can be told apart.
    const viaFetch = async (url: string, headers: Record<string, string>, body: string) => {
      const res = await fetch(url, { method: 'POST', headers, body });
      await res.text();
    };
    const viaClient = async (url: string, headers: Record<string, string>, body: string) => {
      await postText(url, headers, body, 10_000);
    };
    const baseline = await drainBaseline('baseline', viaClient, '.baseline');
    const baselineFetch = await drainBaseline('baseline-fetch', viaFetch, '.baseline-fetch');

    const countersign = { jobs: total, seconds: round(csSeconds, 3), throughput_per_s: round(total / csSeconds, 1), event_loop_ms_per_job: round(csBusyMs / total, 3) };
    return {
      name: 'release',
      target_ratio: 0.5,
      worker_concurrency: CONCURRENCY,
      countersign,
      baseline,
      ratio: round(countersign.throughput_per_s / baseline.throughput_per_s, 3),
      baseline_fetch: baselineFetch,
      ratio_fetch: round(countersign.throughput_per_s / baselineFetch.throughput_per_s, 3),
      release_outcomes: outcomes,
      executor_mean_latency_ms: count ? round((sum / count) * 1000, 2) : null,
      notes: [
        `${total} approved actions queued (paused) through the intake, then drained by the commit worker (concurrency ${CONCURRENCY}): claim with lease, re-checks, signed executor call, outcome + evidence; timed from resume to the last row committed`,
        "baseline: the same number of jobs with the same job options, processed by a plain BullMQ worker at the same concurrency making the same signed POST to the same executor with Countersign's own HTTP client (src/executor/http-post.ts); timed from resume to the last job processed",
        'baseline_fetch (reading only): the same with fetch, which costs about 0.4 ms more CPU per call',
      ],
    };
  } finally {
    await queue.close();
    redis.disconnect();
    await svc.close();
  }
}

/**
 * With RELEASE_CPU_PROFILE=<file>, a CPU profile of the Countersign drain alone (not the intake that fills the
 * queue), written as a .cpuprofile for Chrome DevTools or a script; the baseline's drain goes to <file>.baseline.
 */
async function startProfile(suffix = ''): Promise<{ stop(): Promise<void> } | null> {
  if (!process.env.RELEASE_CPU_PROFILE) return null;
  const file = process.env.RELEASE_CPU_PROFILE + suffix;
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
  return {
    async stop() {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
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
