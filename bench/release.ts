// Release throughput and CPU: approved commits drained through BullMQ to a local executor by Countersign's
// commit worker, against a plain BullMQ worker making the same signed call with the same HTTP client, in
// interleaved rounds. `node bin/run-ts.js bench/release.ts [--quick]`. How it is measured: docs/benchmarks.md.
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { COMMIT_QUEUE, COMMIT_JOB_OPTIONS, type CommitJob } from '../src/queue/commit-queue';
import { relayOutbox } from '../src/queue/relay';
import { benchServices } from './lib/services';
import { httpLoad } from './lib/http-load';
import { perRequest, type CpuPerRequest } from './lib/cpu-meter';
import { round, spread, type Spread } from './lib/stats';
import type { BenchProcess } from './lib/bench-process';

/** One drain: jobs, wall-clock seconds from resume to completion detected, CPU per job. */
export type Drain = { jobs: number; seconds: number; throughput_per_s: number; cpu_ms_per_job: CpuPerRequest };
export type ReleaseResult = {
  name: 'release';
  goal_ratio: number;
  worker_concurrency: number;
  rounds: number;
  jobs_per_round: number[];
  countersign: { throughput_per_s: Spread; cpu_ms_per_job: { app: Spread; postgres: Spread; redis: Spread; app_event_loop: Spread }; runs: Drain[] };
  baseline: { throughput_per_s: Spread; cpu_ms_per_job: { app: Spread; postgres: Spread; redis: Spread; app_event_loop: Spread }; runs: Drain[] };
  /** Countersign ÷ plain BullMQ, per round. The goal: ≥ 0.4. */
  ratio: Spread;
  /** How every action created ended (from the actions table), and what the executor saw. */
  outcomes: Record<string, number>;
  /** What the executor saw from Countersign (the plain worker's calls apart): one call and one effect per action. */
  executor: { countersign_calls: number; plain_calls: number; actions_with_more_than_one_effect: number };
  notes: string[];
};

// The commit worker's default (COUNTERSIGN_COMMIT_CONCURRENCY); BENCH_RELEASE_CONCURRENCY=<n> runs both sides at n.
const CONCURRENCY = Number(process.env.BENCH_RELEASE_CONCURRENCY ?? 8);
const POLL_MS = 10;

export async function runReleaseBench(opts: { jobs?: number; rounds?: number; creationBudgetMs?: number } = {}): Promise<ReleaseResult> {
  const jobs = opts.jobs ?? 2000;
  const rounds = opts.rounds ?? 3;
  const svc = await benchServices('release');
  const redis = new Redis(svc.redis.url, { maxRetriesPerRequest: null });
  const queue = new Queue<CommitJob>(COMMIT_QUEUE, { connection: redis, prefix: svc.prefix });
  const baseQueue = new Queue('baseline', { connection: redis, prefix: svc.prefix });
  try {
    // Both queues are paused before any worker starts: each round fills one, then resumes it and times the drain.
    await queue.pause();
    await baseQueue.pause();
    const { token } = await svc.agent('bench-release');
    const api = await svc.spawn('countersign', 'api', { workers: false });
    const worker = await svc.spawn('countersign', 'worker', { api: false }, { COUNTERSIGN_COMMIT_CONCURRENCY: String(CONCURRENCY) });
    const plain = await svc.spawn('plain-worker', 'plain', { queue: 'baseline', prefix: svc.prefix, concurrency: CONCURRENCY });
    const committed = async () => Number((await svc.db.sql`select count(*)::int as n from actions where status = 'committed'`)[0]!.n);
    const pendingJobs = async (q: Queue) => {
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'paused', 'prioritized', 'waiting-children');
      return Object.values(c).reduce((a, n) => a + n, 0);
    };

    /**
     * One drain, timed from resuming the queue until completion is seen by the same poll (every POLL_MS) on
     * both sides: no job left in the queue, the executor has had every call, and for Countersign every
     * action's outcome is recorded (`committed`, with its evidence) — its release is not over before that.
     */
    const drain = async (side: BenchProcess, q: Queue, total: number, recorded: () => Promise<boolean>): Promise<Drain> => {
      const callsBefore = svc.executor.calls.length;
      const cpu = svc.meter.window(side);
      await cpu.open();
      const t0 = performance.now();
      await q.resume();
      const deadline = Date.now() + 180_000;
      for (;;) {
        if (svc.executor.calls.length - callsBefore >= total && (await pendingJobs(q)) === 0 && (await recorded())) break;
        if (Date.now() > deadline) throw new Error(`release bench: ${side.kind} drain did not finish in 180 s`);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
      const seconds = (performance.now() - t0) / 1000;
      await cpu.close();
      await q.pause();
      return { jobs: total, seconds: round(seconds, 3), throughput_per_s: round(total / seconds, 1), cpu_ms_per_job: perRequest(cpu.figures(), total) };
    };

    const cs: Drain[] = [];
    const base: Drain[] = [];
    const perRound: number[] = [];
    const warmup = Math.min(300, jobs);
    // Round -1 is the warm-up (the same number of jobs on both sides, not reported): both workers' code is
    // compiled and their connections open before anything is measured.
    for (let r = -1; r < rounds; r++) {
      const target = r < 0 ? warmup : jobs;
      // A. Approved actions through the intake, their commit jobs held in the paused queue. Bounded by count
      //    and time: on a loaded machine the intake, not this benchmark, sets the pace.
      const before = await committed();
      let created = 0;
      const creationDeadline = Date.now() + (opts.creationBudgetMs ?? 10_000);
      while (created < target && Date.now() < creationDeadline) {
        const load = await httpLoad({ url: api.url, token, concurrency: 16, warmupMs: 0, durationMs: 500, actionClass: 'external_automation.read.jobs', tag: `r${r}-${created}` });
        created += load.statuses['201'] ?? 0;
      }
      // Allowed actions are enqueued by the API after their batch commits; anything left in the outbox is swept here.
      while ((await relayOutbox(svc.db.db, queue)) > 0);
      const waitQueued = Date.now() + 30_000;
      while ((await pendingJobs(queue)) < created && Date.now() < waitQueued) await new Promise((res) => setTimeout(res, 25));
      const total = await pendingJobs(queue);
      const csDrain = await drain(worker, queue, total, async () => (await committed()) - before >= total);

      // B. The same number of jobs, same job options, for the plain BullMQ worker (same concurrency, same
      //    signed POST to the same executor, same HTTP client: src/executor/http-post.ts).
      await baseQueue.addBulk(Array.from({ length: total }, (_, i) => ({ name: 'commit', data: { action_id: `act_base_${r}_${i}` }, opts: { ...COMMIT_JOB_OPTIONS, jobId: `act_base_${r}_${i}` } })));
      const baseDrain = await drain(plain, baseQueue, total, async () => true);
      if (r < 0) continue;
      perRound.push(total);
      cs.push(csDrain);
      base.push(baseDrain);
    }
    const outcomes = Object.fromEntries((await svc.db.sql<{ status: string; n: number }[]>`select status, count(*)::int as n from actions group by status`).map((row) => [row.status, row.n]));
    const summarise = (runs: Drain[]) => ({
      throughput_per_s: spread(runs.map((d) => d.throughput_per_s), 1),
      cpu_ms_per_job: {
        app: spread(runs.map((d) => d.cpu_ms_per_job.app)),
        postgres: spread(runs.map((d) => d.cpu_ms_per_job.postgres)),
        redis: spread(runs.map((d) => d.cpu_ms_per_job.redis)),
        app_event_loop: spread(runs.map((d) => d.cpu_ms_per_job.app_event_loop)),
      },
      runs,
    });
    return {
      name: 'release',
      goal_ratio: 0.4,
      worker_concurrency: CONCURRENCY,
      rounds,
      jobs_per_round: perRound,
      countersign: summarise(cs),
      baseline: summarise(base),
      ratio: spread(cs.map((c, i) => c.throughput_per_s / base[i]!.throughput_per_s)),
      outcomes,
      executor: {
        countersign_calls: svc.executor.calls.filter((c) => !String(c.body.action_id).startsWith('act_base_')).length,
        plain_calls: svc.executor.calls.filter((c) => String(c.body.action_id).startsWith('act_base_')).length,
        actions_with_more_than_one_effect: [...svc.executor.effects.values()].filter((n) => n > 1).length,
      },
      notes: [
        `each round: up to ${jobs} approved actions created through the intake (a separate API process) while the commit queue is paused, then drained by a worker-only Countersign process (concurrency ${CONCURRENCY}): claim with lease, re-checks, signed executor call, outcome + evidence; then the same number of jobs, same job options, drained by a plain BullMQ worker process at the same concurrency making the same signed POST to the same executor with Countersign's HTTP client (src/executor/http-post.ts)`,
        `both drains are timed from resuming the queue until the same poll (every ${POLL_MS} ms) sees no job left in the queue and every executor call made, and for Countersign every action recorded committed`,
        `${rounds} interleaved rounds (countersign, plain, countersign, …) after one warm-up round of ${warmup} jobs a side, not reported; medians with the spread; ratios per round`,
        'cpu_ms_per_job: /proc user + system CPU over the drain — app: the worker process (Countersign or plain BullMQ); postgres: backends of the benchmark database; redis: the private redis-server — per job; the executor runs in the bench process',
      ],
    };
  } finally {
    await queue.close();
    await baseQueue.close();
    redis.disconnect();
    await svc.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  console.log(JSON.stringify(await runReleaseBench(quick ? { jobs: 200, rounds: 2, creationBudgetMs: 4_000 } : {}), null, 2));
  process.exit(0);
}
