// One side of a benchmark in a process of its own (started by bench-process.ts), so that /proc can say what
// it costs apart from the load generator, the other side and the services. BENCH_CHILD says which:
//   countersign   startCountersign() at the default log level (stdout goes to a log file), API and/or workers
//   records       the records floor: a bare node:http server writing the allow path's records through the
//                 intake's own group-commit writer (action row + four chained evidence events, credentials
//                 re-checked), and nothing else: no auth, policy, rate limit, receipt or queue
//   insert        a bare node:http server doing one single-row INSERT per request (a reference)
//   plain-worker  a plain BullMQ worker making the executor's signed POST with Countersign's HTTP client
//                 (with options.insert, and one single-row INSERT per job after it: a reference)
//   release-floor a plain BullMQ worker that releases each job's action with only the records the release
//                 keeps (row read, claim + commit.started, executor call, record + commit.succeeded) through
//                 Countersign's own statements and group commits (floor-release.ts)
// It answers the parent over IPC: {type:'ready', url}, then {type:'elu'} and {type:'stop'} requests.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { parseEnv } from '../../src/config/env';
import { connectDb } from '../../src/db/client';
import { createIntakeWriter } from '../../src/intake/batch-writer';
import { postText } from '../../src/executor/http-post';
import { signBody, SIGNATURE_HEADER } from '../../src/executor/signature';
import { startCountersign } from '../../src/main';
import { EXECUTOR_SECRET, testConfig } from '../../test/support/harness';
import { floorRecords, type FloorAgent } from './floor-records';
import { floorRelease } from './floor-release';

type Control = { type: 'elu' } | { type: 'stop' };

// BENCH_ALLOC_PROFILE=<file>: what this process allocates, garbage included (V8's sampling heap profiler with
// the objects collected by GC kept), written as a .heapprofile when it stops (Chrome DevTools reads it).
const allocProfile = process.env.BENCH_ALLOC_PROFILE ? await startAllocationProfile(`${process.env.BENCH_ALLOC_PROFILE}.${process.env.BENCH_CHILD}.${process.pid}.heapprofile`) : null;
const send = (m: unknown) => process.send!(m);
const options = JSON.parse(process.env.BENCH_OPTIONS ?? '{}') as Record<string, unknown>;
let close: () => Promise<void> = async () => undefined;

process.on('message', (m: Control) => {
  if (m.type === 'elu') {
    const { active, idle } = performance.eventLoopUtilization();
    send({ type: 'elu', active, idle });
  } else if (m.type === 'stop') {
    void (allocProfile?.stop() ?? Promise.resolve())
      .then(() => close())
      .catch((err: unknown) => process.stderr.write(`bench child: close failed: ${String(err)}\n`))
      .finally(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));

switch (process.env.BENCH_CHILD) {
  case 'countersign': {
    const env = parseEnv(process.env);
    const executorUrl = String(options.executorUrl);
    const config = testConfig(executorUrl);
    if (options.prepareUrl) for (const e of config.executors) e.prepare_url = String(options.prepareUrl);
    const app = await startCountersign(env, { config, api: options.api !== false, workers: options.workers !== false });
    close = () => app.close();
    send({ type: 'ready', url: app.url });
    break;
  }
  case 'records': {
    const { db, close: closeDb } = connectDb(process.env.DATABASE_URL!, { applicationName: 'bench:records' });
    const writer = createIntakeWriter(db);
    const agent = options.agent as FloorAgent;
    await listen(async (body, res) => {
      const write = floorRecords(JSON.parse(body) as Record<string, unknown>, agent);
      const outcome = await writer.write(write);
      const status = outcome === 'inserted' ? 201 : 409;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ id: write.row.id, status: write.row.status }));
    }, closeDb);
    break;
  }
  case 'insert': {
    const { sql, close: closeDb } = connectDb(process.env.DATABASE_URL!, { applicationName: 'bench:insert' });
    let n = 0;
    await listen(async (body, res) => {
      const parsed = JSON.parse(body) as { idempotency_key: string };
      const id = `raw_${process.pid}_${n++}`;
      await sql`insert into bench_raw_insert (id, agent_id, body) values (${id}, ${'agt_bench'}, ${JSON.stringify(parsed)}::jsonb)`;
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id }));
    }, closeDb);
    break;
  }
  case 'plain-worker': {
    // options.insert: one single-row INSERT per job after the call (a reference: what any database write costs).
    const executorUrl = String(options.executorUrl);
    const pg = options.insert ? connectDb(process.env.DATABASE_URL!, { applicationName: 'bench:plain-insert' }) : null;
    await plainWorker(
      async (id) => {
        const body = JSON.stringify({ action_id: id, action_class: 'external_automation.read.jobs', params: {}, idempotency_key: id, dry_run: false });
        const answer = await postText(executorUrl, { 'content-type': 'application/json', 'idempotency-key': id, [SIGNATURE_HEADER]: signBody(EXECUTOR_SECRET, body) }, body, 10_000);
        if (pg) await pg.sql`insert into bench_raw_insert (id, agent_id, body) values (${id}, ${'agt_bench'}, ${JSON.stringify({ status: answer.kind === 'answered' ? answer.status : answer.kind })}::jsonb)`;
      },
      async () => pg?.close(),
    );
    break;
  }
  case 'release-floor': {
    const { db, close: closeDb } = connectDb(process.env.DATABASE_URL!, { applicationName: 'bench:release-floor' });
    const floor = floorRelease(db, testConfig(String(options.executorUrl)));
    await plainWorker((id) => floor.release(id), async () => {
      await floor.idle();
      await closeDb();
    });
    break;
  }
  default:
    throw new Error(`unknown BENCH_CHILD ${process.env.BENCH_CHILD}`);
}

/** A BullMQ worker on `options.queue` running `handle(action_id)` per job, at `options.concurrency`. */
async function plainWorker(handle: (actionId: string) => Promise<void>, after: () => Promise<void> = async () => undefined): Promise<void> {
  const connection = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const worker = new Worker(String(options.queue), (job) => handle(String((job.data as { action_id: string }).action_id)), {
    connection,
    prefix: String(options.prefix),
    concurrency: Number(options.concurrency ?? 8),
  });
  await worker.waitUntilReady();
  close = async () => {
    await worker.close();
    await after();
    connection.disconnect();
  };
  send({ type: 'ready', url: '' });
}

/** A bare node:http server: the body read whole, one handler, 500 with the message if it throws. */
async function listen(handle: (body: string, res: ServerResponse) => Promise<void>, closeDb: () => Promise<void>): Promise<void> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(Buffer.concat(chunks).toString('utf8'), res).catch((err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(String((err as Error).message));
      });
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await closeDb();
  };
  send({ type: 'ready', url: `http://127.0.0.1:${(server.address() as { port: number }).port}` });
}

async function startAllocationProfile(file: string): Promise<{ stop(): Promise<void> }> {
  const { Session } = await import('node:inspector');
  const { writeFile } = await import('node:fs/promises');
  const session = new Session();
  session.connect();
  const post = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('HeapProfiler.enable');
  await post('HeapProfiler.startSampling', { samplingInterval: 16384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return {
    async stop() {
      const { profile } = (await post('HeapProfiler.stopSampling')) as { profile: unknown };
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
