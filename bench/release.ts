// Release throughput and CPU: approved commits drained through BullMQ to a local executor by Countersign's
// commit worker, against a plain BullMQ worker making the same signed call with the same HTTP client and
// against the release floor (a BullMQ worker writing only the release's records: bench/lib/floor-release.ts),
// in interleaved rounds. `node bin/run-ts.js bench/release.ts [--quick]`. How it is measured: docs/benchmarks.md.
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
type Side = { throughput_per_s: Spread; cpu_ms_per_job: { app: Spread; postgres: Spread; redis: Spread; app_event_loop: Spread }; runs: Drain[] };
export type ReleaseResult = {
  name: 'release';
  goal_ratio: number;
  worker_concurrency: number;
  rounds: number;
  jobs_per_round: number[];
  countersign: Side;
  baseline: Side;
  /** The release floor: a BullMQ worker that reads, claims, calls and records each action through Countersign's own statements and group commits, and does nothing else. */
  floor: Side;
  /** Countersign ÷ plain BullMQ, per round. The goal: ≥ 0.4. */
  ratio: Spread;
  /** Countersign ÷ release floor, per round: what the release costs beyond its records. */
  ratio_to_floor: Spread;
  /** Release floor ÷ plain BullMQ, per round: the most a release keeping these records reached against plain BullMQ here. */
  floor_to_plain: Spread;
  /** A reference: the plain worker with one single-row INSERT per job after its call. */
  plain_insert: Side;
  /** Plain BullMQ with one INSERT per job ÷ plain BullMQ, per round: what the least database write per job costs. */
  insert_to_plain: Spread;
  /** How every action created ended (from the actions table), and what the executor saw. */
  outcomes: Record<string, number>;
  /** What the executor saw from Countersign, from the release floor and from the plain workers: one call and one effect per action. */
  executor: { countersign_calls: number; floor_calls: number; plain_calls: number; actions_with_more_than_one_effect: number };
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
  const floorQueue = new Queue<CommitJob>('floor', { connection: redis, prefix: svc.prefix });
  const insertQueue = new Queue('baseline-insert', { connection: redis, prefix: svc.prefix });
  try {
    // Every queue is paused before any worker starts: each round fills one, then resumes it and times the drain.
    await queue.pause();
    await baseQueue.pause();
    await floorQueue.pause();
    await insertQueue.pause();
    await svc.createRawInsertTable();
    const { token } = await svc.agent('bench-release');
    const api = await svc.spawn('countersign', 'api', { workers: false });
    const worker = await svc.spawn('countersign', 'worker', { api: false }, { COUNTERSIGN_COMMIT_CONCURRENCY: String(CONCURRENCY) });
    const plain = await svc.spawn('plain-worker', 'plain', { queue: 'baseline', prefix: svc.prefix, concurrency: CONCURRENCY });
    const floor = await svc.spawn('release-floor', 'floor', { queue: 'floor', prefix: svc.prefix, concurrency: CONCURRENCY });
    const plainInsert = await svc.spawn('plain-worker', 'plain-insert', { queue: 'baseline-insert', prefix: svc.prefix, concurrency: CONCURRENCY, insert: true });
    const committed = async () => Number((await svc.db.sql`select count(*)::int as n from actions where status = 'committed'`)[0]!.n);
    const inserted = async () => Number((await svc.db.sql`select count(*)::int as n from bench_raw_insert`)[0]!.n);
    /** `total` jobs for a plain worker's queue, ids `act_base_<tag>_<i>`, with the commit jobs' options. */
    const plainJobs = (q: Queue, tag: string, total: number) =>
      q.addBulk(Array.from({ length: total }, (_, i) => ({ name: 'commit', data: { action_id: `act_base_${tag}_${i}` }, opts: { ...COMMIT_JOB_OPTIONS, jobId: `act_base_${tag}_${i}` } })));
    const pendingJobs = async (q: Queue) => {
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'paused', 'prioritized', 'waiting-children');
      return Object.values(c).reduce((a, n) => a + n, 0);
    };

    /**
     * One drain, timed from resuming the queue until completion is seen by the same poll (every POLL_MS) on
     * every side: no job left in the queue, the executor has had every call, and `recorded()` — for Countersign
     * and the floor every action's outcome recorded (`committed`, with its evidence): a release is not over before.
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

    /**
     * Up to `target` approved actions through the intake, their commit jobs held in the paused commit queue.
     * Bounded by count and time: on a loaded machine the intake, not this benchmark, sets the pace. Answers
     * how many jobs are waiting.
     */
    const createApproved = async (target: number, tag: string): Promise<number> => {
      let created = 0;
      const creationDeadline = Date.now() + (opts.creationBudgetMs ?? 10_000);
      while (created < target && Date.now() < creationDeadline) {
        const load = await httpLoad({ url: api.url, token, concurrency: 16, warmupMs: 0, durationMs: 500, actionClass: 'external_automation.read.jobs', tag: `${tag}-${created}` });
        created += load.statuses['201'] ?? 0;
      }
      // Allowed actions are enqueued by the API after their batch commits; anything left in the outbox is swept here.
      while ((await relayOutbox(svc.db.db, queue)) > 0);
      const waitQueued = Date.now() + 30_000;
      while ((await pendingJobs(queue)) < created && Date.now() < waitQueued) await new Promise((res) => setTimeout(res, 25));
      return pendingJobs(queue);
    };

    const floorJobIds: string[] = [];
    const cs: Drain[] = [];
    const fl: Drain[] = [];
    const base: Drain[] = [];
    const ins: Drain[] = [];
    const perRound: number[] = [];
    const warmup = Math.min(300, jobs);
    // Round -1 is the warm-up (about the same number of jobs on every side, not reported): every worker's code
    // is compiled and its connections open before anything is measured.
    for (let r = -1; r < rounds; r++) {
      const target = r < 0 ? warmup : jobs;
      // A. Approved actions through the intake, drained by Countersign's commit worker.
      const before = await committed();
      const total = await createApproved(target, `r${r}`);
      const csDrain = await drain(worker, queue, total, async () => (await committed()) - before >= total);

      // F. As many approved actions again (or a few more), their jobs moved to the release floor's queue (same
      //    ids, data and options).
      const floorBefore = await committed();
      await createApproved(total, `f${r}`);
      const floorJobs = await queue.getJobs(['waiting', 'paused']);
      floorJobIds.push(...floorJobs.map((j) => j.id!));
      await floorQueue.addBulk(floorJobs.map((j) => ({ name: 'commit', data: j.data, opts: { ...COMMIT_JOB_OPTIONS, jobId: j.id! } })));
      await queue.drain();
      const floorDrain = await drain(floor, floorQueue, floorJobs.length, async () => (await committed()) - floorBefore >= floorJobs.length);

      // B. The same number of jobs, same job options, for the plain BullMQ worker (same concurrency, same
      //    signed POST to the same executor, same HTTP client: src/executor/http-post.ts).
      await plainJobs(baseQueue, String(r), total);
      const baseDrain = await drain(plain, baseQueue, total, async () => true);

      // I. The same again for the plain worker that also makes one INSERT per job (a reference).
      const insertedBefore = await inserted();
      await plainJobs(insertQueue, `i${r}`, total);
      const insertDrain = await drain(plainInsert, insertQueue, total, async () => (await inserted()) - insertedBefore >= total);
      if (r < 0) continue;
      perRound.push(total);
      cs.push(csDrain);
      fl.push(floorDrain);
      base.push(baseDrain);
      ins.push(insertDrain);
    }
    const floorIds = new Set(floorJobIds);
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
      floor: summarise(fl),
      ratio: spread(cs.map((c, i) => c.throughput_per_s / base[i]!.throughput_per_s)),
      ratio_to_floor: spread(cs.map((c, i) => c.throughput_per_s / fl[i]!.throughput_per_s)),
      floor_to_plain: spread(fl.map((f, i) => f.throughput_per_s / base[i]!.throughput_per_s)),
      plain_insert: summarise(ins),
      insert_to_plain: spread(ins.map((d, i) => d.throughput_per_s / base[i]!.throughput_per_s)),
      outcomes,
      executor: {
        countersign_calls: svc.executor.calls.filter((c) => !String(c.body.action_id).startsWith('act_base_') && !floorIds.has(String(c.body.action_id))).length,
        floor_calls: svc.executor.calls.filter((c) => floorIds.has(String(c.body.action_id))).length,
        plain_calls: svc.executor.calls.filter((c) => String(c.body.action_id).startsWith('act_base_')).length,
        actions_with_more_than_one_effect: [...svc.executor.effects.values()].filter((n) => n > 1).length,
      },
      notes: [
        `each round: up to ${jobs} approved actions created through the intake (a separate API process) while the commit queue is paused, then drained by a worker-only Countersign process (concurrency ${CONCURRENCY}): claim with lease, re-checks, signed executor call, outcome + evidence; then the same number of jobs, same job options, drained by a plain BullMQ worker process at the same concurrency making the same signed POST to the same executor with Countersign's HTTP client (src/executor/http-post.ts)`,
        `every drain is timed from resuming the queue until the same poll (every ${POLL_MS} ms) sees no job left in the queue and every executor call made, and for Countersign and the floor every action recorded committed (for plain + INSERT every row inserted)`,
        "release floor: as many approved actions again through the intake, their commit jobs moved to a queue of their own and drained by a BullMQ worker process at the same concurrency that reads each row, claims it with commit.started, makes the executor call with Countersign's client and records the answer with commit.succeeded, through Countersign's own statements and group commits (bench/lib/floor-release.ts): no re-checks, read-ahead, plan check, rate limit, announcement or metrics",
        'plain + INSERT (a reference): the plain worker again, with one single-row INSERT (autocommit) per job after its call',
        `${rounds} interleaved rounds (countersign, floor, plain, plain + INSERT, countersign, …) after one warm-up round of ${warmup} jobs a side, not reported; medians with the spread; ratios per round`,
        'cpu_ms_per_job: /proc user + system CPU over the drain — app: the worker process (Countersign or plain BullMQ); postgres: backends of the benchmark database; redis: the private redis-server — per job; the executor runs in the bench process',
      ],
    };
  } finally {
    await queue.close();
    await baseQueue.close();
    await floorQueue.close();
    await insertQueue.close();
    redis.disconnect();
    await svc.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const quick = process.argv.includes('--quick');
  console.log(JSON.stringify(await runReleaseBench(quick ? { jobs: 200, rounds: 2, creationBudgetMs: 4_000 } : {}), null, 2));
  process.exit(0);
}
