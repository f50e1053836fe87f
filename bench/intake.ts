// Intake throughput and latency on the allow path, against raw single-row INSERTs through the same driver.
// `node bin/run-ts.js bench/intake.ts` runs it alone; `npm run bench` runs it with the others.
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { benchServices } from './lib/services';
import { httpLoad } from './lib/http-load';
import { closedLoop, round, type Figures } from './lib/stats';
import { authenticateAgent } from '../src/auth/agents';
import { createIntakeWriter } from '../src/intake/batch-writer';
import { queuedWrite } from '../test/support/queued-write';

/** Main-thread (server, or baseline client) event-loop busy time per request: CPU cost that a loaded machine does not hide. */
type Cost = { event_loop_ms_per_request: number };
export type IntakeLevel = {
  concurrency: number;
  countersign: Figures & Cost & { statuses: Record<string, number> };
  baseline: Figures & Cost;
  /**
   * Reference, not a target: the allow path's records alone (action row + four chained evidence events,
   * credentials re-checked) through the intake's own group-commit writer, without HTTP, auth, policy or
   * receipts. What the evidence design costs in the database, measured in the same run.
   */
  records_only: Figures & { ratio_to_baseline: number };
  /** Countersign requests/s ÷ raw INSERTs/s. Target ≥ 0.5. */
  ratio: number;
};
/**
 * The same allow path for an executor that prepares (issue #14): one more executor round trip per request, to a
 * local prepare endpoint that answers at once. Measured in the same run at the same concurrency as `without`.
 */
export type PrepareLevel = { concurrency: number; without: Figures; with_prepare: Figures; ratio: number };
export type IntakeResult = { name: 'intake'; target_ratio: number; levels: IntakeLevel[]; prepare: PrepareLevel[]; notes: string[] };

const LEVELS = [1, 16, 64];

export async function runIntakeBench(opts: { warmupMs?: number; durationMs?: number } = {}): Promise<IntakeResult> {
  const warmupMs = opts.warmupMs ?? 1000;
  const durationMs = opts.durationMs ?? 3000;
  const svc = await benchServices('intake');
  try {
    // API only: the allow path records the action (queued) and its evidence and enqueues the commit in
    // BullMQ; no worker drains it, so the executor is not part of this figure.
    const app = await svc.start({}, { workers: false });
    const { token } = await svc.agent('bench-intake');
    await svc.db.sql`create table bench_raw_insert (id text primary key, agent_id text not null, body jsonb not null, created_at timestamptz not null default now())`;
    const principal = (await authenticateAgent(svc.db.db, token))!;
    const writer = createIntakeWriter(svc.db.db);
    const body = { action_class: 'external_automation.read.jobs', params: { name: 'bench' }, context: {}, justification: 'benchmark' };
    const levels: IntakeLevel[] = [];
    for (const concurrency of LEVELS) {
      const elu0 = performance.eventLoopUtilization();
      const countersign = await httpLoad({
        url: app.url,
        token,
        concurrency,
        warmupMs,
        durationMs,
        actionClass: 'external_automation.read.jobs',
        tag: `c${concurrency}`,
      });
      const serverBusyMs = performance.eventLoopUtilization(elu0).active;
      let n = 0;
      const elu1 = performance.eventLoopUtilization();
      const baseline = await closedLoop(concurrency, warmupMs, durationMs, () => {
        const id = `raw_${concurrency}_${n++}`;
        return svc.db.sql`insert into bench_raw_insert (id, agent_id, body) values (${id}, ${'agt_bench'}, ${JSON.stringify({ ...body, idempotency_key: id })}::jsonb)`;
      });
      const baselineBusyMs = performance.eventLoopUtilization(elu1).active;
      const records = await closedLoop(concurrency, warmupMs, durationMs, () => writer.write(queuedWrite(principal)));
      // Event-loop busy time spans warm-up too, while requests are counted in the measured window only.
      const scale = (warmupMs + durationMs) / durationMs;
      levels.push({
        concurrency,
        countersign: { ...countersign, event_loop_ms_per_request: round(serverBusyMs / Math.max(1, countersign.requests * scale), 3) },
        baseline: { ...baseline, event_loop_ms_per_request: round(baselineBusyMs / Math.max(1, baseline.requests * scale), 3) },
        records_only: { ...records, ratio_to_baseline: round(records.throughput_per_s / baseline.throughput_per_s, 3) },
        ratio: round(countersign.throughput_per_s / baseline.throughput_per_s, 3),
      });
    }
    // With prepare: a second API on the same database whose executor declares a prepare endpoint.
    const prepareServer = await startPrepareServer();
    const prepared = await svc.start({}, {
      workers: false,
      config: { ...svc.config, executors: svc.config.executors.map((e) => ({ ...e, prepare_url: prepareServer.url })) },
    });
    const prepare: PrepareLevel[] = [];
    try {
      for (const concurrency of [16, 64]) {
        const load = { token, concurrency, warmupMs, durationMs, actionClass: 'external_automation.read.jobs' };
        const without = await httpLoad({ ...load, url: app.url, tag: `p0-${concurrency}` });
        const withPrepare = await httpLoad({ ...load, url: prepared.url, tag: `p1-${concurrency}` });
        prepare.push({ concurrency, without, with_prepare: withPrepare, ratio: round(withPrepare.throughput_per_s / without.throughput_per_s, 3) });
      }
    } finally {
      await prepared.close();
      prepareServer.close();
    }
    return {
      name: 'intake',
      target_ratio: 0.5,
      levels,
      prepare,
      notes: [
        'Countersign: POST /v1/actions (allowed read) over keep-alive HTTP from a worker thread; bearer auth, rate limit, policy, signed receipt, the action row (queued) and its four evidence events written by the group-commit writer (one intake_commit call per batch), BullMQ addBulk per batch',
        'records_only (reference): the same records written by the intake writer (intake_commit, group commit) at the same concurrency, without HTTP, auth, rate limit, policy or receipts: the database floor of the allow path',
        'baseline: single-row INSERT of a similar JSON body through postgres.js (same driver, same pool size 10, same database) at the same concurrency',
        `each level: ${warmupMs} ms warm-up, ${durationMs} ms measured`,
        'prepare: the allow path without and with an executor prepare step (a local endpoint answering {facts, preview, plan} at once), alternated at each concurrency in the same run',
        'event_loop_ms_per_request: main-thread busy time (performance.eventLoopUtilization) per request — the JavaScript cost of one request, which CPU contention from other processes stretches far less than wall-clock latency',
      ],
    };
  } finally {
    await svc.close();
  }
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
  console.log(JSON.stringify(await runIntakeBench(), null, 2));
  process.exit(0);
}
