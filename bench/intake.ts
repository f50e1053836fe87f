// Intake throughput, latency and CPU on the allow path, against the records floor: a bare node:http server
// writing the same records through the same writer. `node bin/run-ts.js bench/intake.ts` runs it alone;
// `npm run bench` runs it with the others. How it is measured: docs/benchmarks.md.
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { benchServices } from './lib/services';
import { httpLoad } from './lib/http-load';
import { perRequest, type CpuPerRequest } from './lib/cpu-meter';
import { round, spread, type Figures, type Spread } from './lib/stats';
import { authenticateAgent } from '../src/auth/agents';
import type { BenchProcess } from './lib/bench-process';

/** One side's figures in one round. */
export type SideRun = Figures & { cpu_ms_per_request: CpuPerRequest; statuses: Record<string, number> };
/** One side over all rounds: the median and spread of each figure, and every round as measured. */
export type SideSummary = {
  throughput_per_s: Spread;
  p50_ms: Spread;
  p99_ms: Spread;
  cpu_ms_per_request: { app: Spread; postgres: Spread; redis: Spread; app_event_loop: Spread };
  errors: number;
  runs: SideRun[];
};
export type IntakeLevel = {
  concurrency: number;
  /** POST /v1/actions on the allow path, Countersign at its default log level. */
  countersign: SideSummary;
  /** The records floor: the same records through the same writer behind a bare node:http server. */
  records_floor: SideSummary;
  /** Reference: one single-row INSERT per request behind a bare node:http server. */
  raw_insert: SideSummary;
  /** Countersign ÷ records floor, per round. The goal: ≥ 0.6 at 16 and 64 clients. */
  ratio_to_floor: Spread;
  /** Records floor ÷ raw insert, per round: what the evidence costs in the database. */
  floor_to_insert: Spread;
  /** With `compareRoot`: the same Countersign side run from another checkout, in the same rounds. */
  compared?: { root: string; countersign: SideSummary; ratio_to_floor: Spread; ratio_to_this: Spread };
};
export type PrepareLevel = { concurrency: number; without: Spread; with_prepare: Spread; ratio: Spread };
export type IntakeResult = {
  name: 'intake';
  rounds: number;
  warmup_ms: number;
  duration_ms: number;
  goals: { ratio_to_floor_min: number; at_concurrency: number[]; app_cpu_ms_per_request_max: number; p99_ms_max: number; p99_at_concurrency: number };
  levels: IntakeLevel[];
  prepare: PrepareLevel[];
  /** What Countersign logged during the run, at its default level (a log file, as stdout would be in production). */
  log: { level: string; lines: number; bytes: number };
  notes: string[];
};

const LEVELS = [1, 16, 64];
const ACTION_CLASS = 'external_automation.read.jobs';

export type IntakeOptions = {
  warmupMs?: number;
  durationMs?: number;
  rounds?: number;
  prepareRounds?: number;
  levels?: number[];
  /** Another checkout of Countersign to run as a fourth side in the same rounds (to measure a change). */
  compareRoot?: string;
};

export async function runIntakeBench(opts: IntakeOptions = {}): Promise<IntakeResult> {
  const warmupMs = opts.warmupMs ?? 1000;
  const durationMs = opts.durationMs ?? 3000;
  const rounds = opts.rounds ?? 3;
  const svc = await benchServices('intake');
  try {
    const { token, agent } = await svc.agent('bench-intake');
    const principal = (await authenticateAgent(svc.db.db, token))!;
    await svc.createRawInsertTable();
    // API only: the allow path records the action (queued) and its evidence and enqueues the commit in
    // BullMQ; no worker drains it, so the executor is not part of this figure.
    const countersign = await svc.spawn('countersign', 'app', { workers: false });
    const floor = await svc.spawn('records', 'floor', {
      agent: { id: agent.id, name: agent.name, owner: agent.owner, tokenId: principal.tokenId, scopes: agent.scopes, rateLimitPerMinute: agent.rateLimitPerMinute },
    });
    const insert = await svc.spawn('insert', 'insert');
    const other = opts.compareRoot ? await svc.spawn('countersign', 'app-compared', { workers: false }, {}, opts.compareRoot) : null;

    const run = async (side: BenchProcess, concurrency: number, tag: string): Promise<SideRun> => {
      const cpu = svc.meter.window(side);
      const figures = await httpLoad({ url: side.url, token, concurrency, warmupMs, durationMs, actionClass: ACTION_CLASS, tag, window: cpu });
      return { ...figures, cpu_ms_per_request: perRequest(cpu.figures(), figures.requests) };
    };

    const levels: IntakeLevel[] = [];
    for (const concurrency of opts.levels ?? LEVELS) {
      const runs = { countersign: [] as SideRun[], floor: [] as SideRun[], insert: [] as SideRun[], other: [] as SideRun[] };
      // Interleaved rounds (A B C A B C …), each run with the same warm-up: a machine that gets busier or
      // quieter during the level moves every side, and the spread across rounds shows by how much.
      for (let r = 0; r < rounds; r++) {
        runs.countersign.push(await run(countersign, concurrency, `cs${concurrency}-${r}`));
        if (other) runs.other.push(await run(other, concurrency, `ot${concurrency}-${r}`));
        runs.floor.push(await run(floor, concurrency, `fl${concurrency}-${r}`));
        runs.insert.push(await run(insert, concurrency, `in${concurrency}-${r}`));
      }
      levels.push({
        concurrency,
        countersign: summarise(runs.countersign),
        records_floor: summarise(runs.floor),
        raw_insert: summarise(runs.insert),
        ratio_to_floor: spread(runs.countersign.map((c, i) => c.throughput_per_s / runs.floor[i]!.throughput_per_s)),
        floor_to_insert: spread(runs.floor.map((f, i) => f.throughput_per_s / runs.insert[i]!.throughput_per_s)),
        ...(other
          ? {
              compared: {
                root: opts.compareRoot!,
                countersign: summarise(runs.other),
                ratio_to_floor: spread(runs.other.map((c, i) => c.throughput_per_s / runs.floor[i]!.throughput_per_s)),
                ratio_to_this: spread(runs.other.map((c, i) => c.throughput_per_s / runs.countersign[i]!.throughput_per_s)),
              },
            }
          : {}),
      });
    }
    const log = countersign.logged();

    // With prepare (issue #14): a second API whose executor declares a prepare endpoint, alternated with the first.
    const prepareServer = await startPrepareServer();
    const prepared = await svc.spawn('countersign', 'app-prepare', { workers: false, prepareUrl: prepareServer.url });
    const prepare: PrepareLevel[] = [];
    try {
      for (const concurrency of opts.prepareRounds === 0 ? [] : [16, 64]) {
        const without: number[] = [];
        const withPrepare: number[] = [];
        for (let r = 0; r < (opts.prepareRounds ?? 2); r++) {
          const load = { token, concurrency, warmupMs, durationMs, actionClass: ACTION_CLASS };
          without.push((await httpLoad({ ...load, url: countersign.url, tag: `p0-${concurrency}-${r}` })).throughput_per_s);
          withPrepare.push((await httpLoad({ ...load, url: prepared.url, tag: `p1-${concurrency}-${r}` })).throughput_per_s);
        }
        prepare.push({ concurrency, without: spread(without, 1), with_prepare: spread(withPrepare, 1), ratio: spread(withPrepare.map((w, i) => w / without[i]!)) });
      }
    } finally {
      await prepared.stop();
      prepareServer.close();
    }
    return {
      name: 'intake',
      rounds,
      warmup_ms: warmupMs,
      duration_ms: durationMs,
      goals: { ratio_to_floor_min: 0.6, at_concurrency: [16, 64], app_cpu_ms_per_request_max: 0.6, p99_ms_max: 100, p99_at_concurrency: 64 },
      levels,
      prepare,
      log: { level: 'info (the default; LOG_LEVEL unset)', ...log },
      notes: [
        'countersign: POST /v1/actions (allowed read) from a separate process, Countersign at its default log level writing its log to a file; bearer auth, rate limit, policy, signed receipt, the action row (queued) and its four evidence events written by the group-commit writer, BullMQ addBulk per batch; no commit worker runs',
        'records_floor: a bare node:http server (bench/lib/child.ts) that parses the same body and writes the same records (action row, four chained evidence events, stored response of the same size, credentials re-checked) through the same intake writer and pool; nothing else',
        'raw_insert (reference): a bare node:http server doing one single-row INSERT of the body per request, same driver and pool size',
        `each level: ${rounds} interleaved rounds (countersign, floor, insert, countersign, …), each run ${warmupMs} ms warm-up then ${durationMs} ms measured, from the same load generator (a worker thread of the bench process, keep-alive node:http)`,
        'cpu_ms_per_request: user + system CPU over the measured window from /proc — app: the process under test, all threads; postgres: the backends connected to the benchmark database; redis: the benchmark\'s private redis-server — divided by the requests measured; app_event_loop: the process\'s main-thread event-loop busy time, which counts descheduled time on a busy machine',
        'figures are medians over the rounds with the spread (lowest–highest round); ratios are computed per round',
        'prepare: the allow path without and with an executor prepare step (a local endpoint answering {facts, preview, plan} at once), alternated in the same run',
      ],
    };
  } finally {
    await svc.close();
  }
}

function summarise(runs: SideRun[]): SideSummary {
  const of = (f: (r: SideRun) => number, digits = 3) => spread(runs.map(f), digits);
  return {
    throughput_per_s: of((r) => r.throughput_per_s, 1),
    p50_ms: of((r) => r.p50_ms, 2),
    p99_ms: of((r) => r.p99_ms, 2),
    cpu_ms_per_request: {
      app: of((r) => r.cpu_ms_per_request.app),
      postgres: of((r) => r.cpu_ms_per_request.postgres),
      redis: of((r) => r.cpu_ms_per_request.redis),
      app_event_loop: of((r) => r.cpu_ms_per_request.app_event_loop),
    },
    errors: runs.reduce((a, r) => a + r.errors, 0),
    runs: runs.map((r) => ({ ...r, throughput_per_s: round(r.throughput_per_s, 1) })),
  };
}

/** A prepare endpoint that answers at once: what the prepare step itself costs Countersign. */
async function startPrepareServer(): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"facts":{"target_count":1},"preview":"reads jobs","plan":{"read":"jobs"}}'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/prepare`, close: () => server.close() };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // --quick: a smoke run; INTAKE_BENCH='{"levels":[16,64],"rounds":2,"prepareRounds":0}' picks options.
  const quick = process.argv.includes('--quick');
  const picked = JSON.parse(process.env.INTAKE_BENCH ?? '{}') as IntakeOptions;
  console.log(JSON.stringify(await runIntakeBench({ ...(quick ? { warmupMs: 300, durationMs: 800, rounds: 2, prepareRounds: 1 } : {}), ...picked }), null, 2));
  process.exit(0);
}
