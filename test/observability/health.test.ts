import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { parseEnv } from '../../src/config/env';
import { startCountersign, type Countersign } from '../../src/main';
import { ADMIN_URL, createTestDb, type TestDb } from '../support/db';
import { testConfig } from '../support/harness';
import { uniquePrefix } from '../support/redis';

/** A redis-server of this file's own: the test stops it, which must never happen to the shared one. */
async function startRedis(port: number): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const probe = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return proc;
    } catch {
      probe.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('private redis-server did not start');
}
async function stopRedis(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGKILL');
  await gone;
}
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

let db: TestDb;
let redisPort: number;
let redis: ChildProcess;
let app: Countersign;

beforeAll(async () => {
  db = await createTestDb();
  redisPort = await freePort();
  redis = await startRedis(redisPort);
  const env = parseEnv({ DATABASE_URL: db.url, REDIS_URL: `redis://127.0.0.1:${redisPort}`, PORT: '0', COUNTERSIGN_QUEUE_PREFIX: uniquePrefix('health') });
  app = await startCountersign(env, { config: testConfig('http://127.0.0.1:9/execute'), workers: false });
});
afterAll(async () => {
  if (redis.exitCode !== null || redis.signalCode !== null) redis = await startRedis(redisPort);
  await app?.close();
  await stopRedis(redis);
  await db?.drop();
});

async function probe(path: string) {
  const res = await fetch(`${app.url}${path}`);
  return { status: res.status, body: await res.json() };
}

/** /readyz answers from a probe on its own schedule (every second): a change shows within a round or two. */
async function readyzUntil(status: number) {
  const deadline = Date.now() + 10_000;
  let last = await probe('/readyz');
  while (last.status !== status && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    last = await probe('/readyz');
  }
  return last;
}

describe('/healthz and /readyz', () => {
  it('are both 200 when PostgreSQL and Redis answer', async () => {
    expect(await probe('/healthz')).toEqual({ status: 200, body: { ok: true } });
    expect(await probe('/readyz')).toEqual({ status: 200, body: { ok: true, database: true, redis: true } });
  });

  it('readyz is 503 naming Redis while Redis is down (promptly, not hanging), healthz stays 200, and recovers', async () => {
    await fetch(`${app.url}/metrics`); // a scrape while Redis is up reads the queue depths
    await stopRedis(redis);
    expect(await readyzUntil(503)).toEqual({ status: 503, body: { ok: false, database: true, redis: false } });
    // Every answer during the outage comes from the probe's last round: twenty at once, none waits out a check.
    const during = await Promise.all(Array.from({ length: 20 }, () => probe('/readyz')));
    expect(during.map((r) => r.status)).toEqual(Array(20).fill(503));
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    expect(metrics).toMatch(/^countersign_dependency_up\{dependency="redis"\} 0$/m);
    expect(metrics).toMatch(/^countersign_dependency_up\{dependency="database"\} 1$/m);
    // The queue-depth lines stay (with their last figures) while Redis is down.
    expect(metrics).toMatch(/^countersign_queue_jobs\{queue="commits",state="waiting"\} \d+$/m);
    expect((await probe('/healthz')).status).toBe(200);
    // /metrics still answers: the queue-depth read gives up instead of waiting for Redis.
    expect((await fetch(`${app.url}/metrics`)).status).toBe(200);
    redis = await startRedis(redisPort);
    expect(await readyzUntil(200)).toEqual({ status: 200, body: { ok: true, database: true, redis: true } });
  }, 30_000);

  it('readyz is 503 naming the database when PostgreSQL cannot be reached', async () => {
    // Dropping this file's own database (forcing its connections out) makes every query fail.
    const admin = (await import('postgres')).default(ADMIN_URL, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`drop database "${db.name}" with (force)`);
    } finally {
      await admin.end({ timeout: 5 });
    }
    expect(await readyzUntil(503)).toEqual({ status: 503, body: { ok: false, database: false, redis: true } });
  }, 30_000);
});
