import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sql } from 'postgres';
import { createAgent } from '../../src/auth/agents';
import { createTestDb, type TestDb } from '../support/db';
import { startTestExecutor } from '../support/executor-server';
import { EXECUTOR_SECRET } from '../support/harness';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis';
import { startSentinelGroup } from '../support/private-sentinel';
import { REPO_ROOT, startServe, type ServeProcess } from '../support/process';

export type TestExecutor = Awaited<ReturnType<typeof startTestExecutor>>;

/**
 * What every chaos run stands on: its own test database, a private Redis (the run may flush or restart it),
 * the test executor (`respond` shapes its answers; `down` leaves its port closed) and the env for the
 * Countersign processes the run starts itself. `close(procs)` stops those processes, then all of this.
 */
export type ChaosStack = Awaited<ReturnType<typeof startChaosStack>>;

export async function startChaosStack(o: {
  prefix: string;
  respond?: NonNullable<Parameters<typeof startTestExecutor>[1]>['respond'];
  down?: boolean;
  executorExtra?: string;
  maxAttempts?: number;
  env?: Record<string, string>;
}): Promise<{
  db: TestDb;
  redis: PrivateRedis;
  executor: TestExecutor;
  env: Record<string, string>;
  agent(name: string): ReturnType<typeof createAgent>;
  close(procs: Array<ServeProcess | null | undefined>): Promise<void>;
}> {
  const db = await createTestDb();
  const redis = await startPrivateRedis().catch(async (err: unknown) => {
    await db.drop();
    throw err;
  });
  const executor = await startTestExecutor(EXECUTOR_SECRET, o.respond ? { respond: o.respond } : {});
  if (o.down) await executor.close(); // its port now refuses connections
  const config = writeConfig(executor.url, o.executorExtra ?? '', o.maxAttempts);
  const env = chaosEnv({ databaseUrl: db.url, redisUrl: redis.url, prefix: o.prefix, config, extra: o.env });
  return {
    db,
    redis,
    executor,
    env,
    agent: (name) => createAgent(db.db, { name, scopes: ['external_automation.*'] }, 'admin:test'),
    async close(procs) {
      await stopAll(procs);
      if (!o.down) await executor.close();
      await redis.close();
      await db.drop();
    },
  };
}

/** countersign.yaml for a chaos run: one executor (the test executor), the seed approver group. */
export function writeConfig(executorUrl: string, executorExtra = '', maxAttempts = 20): string {
  const dir = mkdtempSync(join(tmpdir(), 'cs-chaos-'));
  const path = join(dir, 'countersign.yaml');
  writeFileSync(
    path,
    `approver_groups:
  automation-ops: { channel: C0AUTOOPS, members: [U0ALICE, U0BOB] }
executors:
  - name: automation
    action_classes: ["external_automation.*"]
    url: ${executorUrl}
    secret: ${EXECUTOR_SECRET}
    timeout_ms: 2000
    max_attempts: ${maxAttempts}
${executorExtra}`,
  );
  return path;
}

/** Short leases and locks so a killed worker's commits are taken over in seconds, not a minute. */
export function chaosEnv(o: { databaseUrl: string; redisUrl: string; prefix: string; config: string; extra?: Record<string, string> }): Record<string, string> {
  return {
    DATABASE_URL: o.databaseUrl,
    REDIS_URL: o.redisUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    COUNTERSIGN_CONFIG: o.config,
    COUNTERSIGN_POLICIES: join(REPO_ROOT, 'policies'),
    COUNTERSIGN_QUEUE_PREFIX: o.prefix,
    LOG_LEVEL: 'warn',
    COUNTERSIGN_COMMIT_CONCURRENCY: '4',
    COUNTERSIGN_COMMIT_LOCK_MS: '3000',
    COUNTERSIGN_COMMIT_STALLED_INTERVAL_MS: '1500',
    COUNTERSIGN_LEASE_GRACE_MS: '1000',
    COUNTERSIGN_RECONCILE_EVERY_MS: '1500',
    COUNTERSIGN_SHUTDOWN_DEADLINE_MS: '10000',
    // The per-agent intake limit is not what these tests are about.
    COUNTERSIGN_RATE_LIMIT_PER_MINUTE: '100000',
    ...o.extra,
  };
}

/** chaosEnv for processes that reach Redis only through a sentinel group (REDIS_SENTINELS; no REDIS_URL). */
export function sentinelChaosEnv(
  group: { sentinelsEnv: string; name: string },
  o: { databaseUrl: string; prefix: string; config: string; extra?: Record<string, string> },
): Record<string, string> {
  const { REDIS_URL: _none, ...env } = chaosEnv({ ...o, redisUrl: 'redis://unused' });
  return { ...env, REDIS_SENTINELS: group.sentinelsEnv, REDIS_SENTINEL_NAME: group.name };
}

/**
 * What a Sentinel deployment test stands on: a sentinel group (`group`: startSentinelGroup's options), its own
 * test database, the test executor, an API process and a worker process that reach Redis only through the
 * sentinels (`env`, COUNTERSIGN_DEPENDENCY_WAIT_MS and `extra` added), and an agent's token. `close()` stops
 * all of it; a start that fails part-way stops what it started.
 */
export async function startSentinelStack(o: {
  prefix: string;
  group: Parameters<typeof startSentinelGroup>[0];
  executor?: Parameters<typeof startTestExecutor>[1];
  extra?: Record<string, string>;
}) {
  const [group, db] = await Promise.all([startSentinelGroup(o.group), createTestDb()]);
  let executor: TestExecutor | undefined;
  let procs: ServeProcess[] = [];
  const close = async () => {
    await stopAll(procs);
    await executor?.close();
    await group.close();
    await db.drop();
  };
  try {
    executor = await startTestExecutor(EXECUTOR_SECRET, o.executor);
    const env = sentinelChaosEnv(group, { databaseUrl: db.url, prefix: o.prefix, config: writeConfig(executor.url), extra: { COUNTERSIGN_DEPENDENCY_WAIT_MS: String(WAIT_BUDGET_MS), ...o.extra } });
    const started = await Promise.allSettled([startApi('api', env), startWorker('worker', env)]);
    procs = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    const { token } = await createAgent(db.db, { name: `${o.prefix}-bot`, scopes: ['external_automation.*'] }, 'admin:test');
    return { group, db, executor, env, procs, token, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The dependency wait budget the outage and deployment tests run with (COUNTERSIGN_DEPENDENCY_WAIT_MS). */
export const WAIT_BUDGET_MS = 1000;
/**
 * How far past the budget one request's wait may go. A correctness bound, not a performance target: without the
 * wait budget requests waited 19–29 s (measured, the budget removed). The margin absorbs a loaded 2-core machine's
 * scheduling (HTTP parsing, the event loops of the API and of the client): at a load average of ~15 the longest
 * wait was 0.9–1.4 s, at ~30 it was 3.8 s.
 */
export const WAIT_MARGIN_MS = 3000;

export const startApi = (name: string, env: Record<string, string>, migrate = false) =>
  startServe(name, ['--api-only', ...(migrate ? [] : ['--migrate=false'])], env);
export const startWorker = (name: string, env: Record<string, string>) => startServe(name, ['--worker-only', '--migrate=false'], env);

export async function stopAll(procs: Array<ServeProcess | null | undefined>): Promise<void> {
  await Promise.all(procs.filter((p): p is ServeProcess => !!p).map((p) => Promise.race([p.stop('SIGTERM'), new Promise((r) => setTimeout(r, 15_000))]).then(() => p.kill('SIGKILL'))));
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

export async function postAction(url: string, token: string, body: Record<string, unknown>) {
  const res = await fetch(`${url}/v1/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: any = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, retryAfter: res.headers.get('retry-after') };
}

let n = 0;
/** An allowed read: approved by policy at the intake, so it goes straight to the outbox. */
export function readAction(tag: string): Record<string, unknown> {
  n++;
  return {
    action_class: 'external_automation.read.jobs',
    params: { job: `${tag}-${n}` },
    context: {},
    idempotency_key: `${tag}-${n}-${Math.random().toString(36).slice(2)}`,
    justification: 'chaos test read',
  };
}

export type Figures = { actions: number; committed: number; lost: number; duplicateEffects: number; duplicateCommitEvents: number; redeliveredCalls: number };

/**
 * The exactly-once figures, from both sides: the executor's effects per action and its calls per idempotency key, and
 * Postgres's states and commit evidence.
 */
export async function exactlyOnceFigures(
  sql: Sql,
  executor: { calls: Array<{ body: Record<string, unknown>; headers: Record<string, unknown> }>; effects: Map<string, number> },
  ids: string[],
): Promise<Figures & { notCommitted: Array<{ id: string; status: string }> }> {
  const rows = (await sql`select id, status from actions where id = any(${ids})`) as unknown as Array<{ id: string; status: string }>;
  const committed = rows.filter((r) => r.status === 'committed').length;
  const notCommitted = rows.filter((r) => r.status !== 'committed');
  const dupEvents = await sql`select action_id from audit_events where type = 'commit.succeeded' and action_id = any(${ids}) group by action_id having count(*) > 1`;
  const perKey = new Map<string, number>();
  for (const c of executor.calls) {
    const k = String(c.headers['idempotency-key']);
    perKey.set(k, (perKey.get(k) ?? 0) + 1);
  }
  const redeliveredCalls = [...perKey.values()].reduce((a, v) => a + (v - 1), 0);
  const effectMissing = ids.filter((id) => executor.effects.get(id) !== 1).length;
  const duplicateEffects = [...executor.effects.values()].reduce((a, v) => a + Math.max(0, v - 1), 0);
  return {
    actions: ids.length,
    committed,
    lost: Math.max(ids.length - rows.length + notCommitted.length, effectMissing),
    duplicateEffects,
    duplicateCommitEvents: dupEvents.length,
    redeliveredCalls,
    notCommitted,
  };
}

/**
 * Idempotency keys the executor was called with more than once although their action shows no lease
 * take-over: a repeated call is legitimate only when a worker's claim ran out (killed, or its outcome could not
 * be recorded) and another took the action over (`commit.started` with `lease_taken_over`); any other repeat is
 * a release sent twice.
 */
export async function repeatsWithoutTakeover(sql: Sql, executor: { calls: Array<{ body: Record<string, unknown>; headers: Record<string, unknown> }> }): Promise<string[]> {
  const perKey = new Map<string, { n: number; action: string }>();
  for (const c of executor.calls) {
    const k = String(c.headers['idempotency-key']);
    perKey.set(k, { n: (perKey.get(k)?.n ?? 0) + 1, action: String(c.body.action_id) });
  }
  const repeated = [...perKey.values()].filter((v) => v.n > 1).map((v) => v.action);
  if (repeated.length === 0) return [];
  const takenOver = new Set(
    ((await sql`select distinct action_id from audit_events where type = 'commit.started' and (data ->> 'lease_taken_over')::boolean and action_id = any(${repeated})`) as unknown as Array<{ action_id: string }>).map(
      (r) => r.action_id,
    ),
  );
  return repeated.filter((a) => !takenOver.has(a));
}

export async function waitFor<T>(check: () => Promise<T | null | undefined | false>, timeoutMs: number, label: string, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => null);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** One POST /v1/actions under load: its answer, and how long it waited (status 0: no answer at all). */
export type Sent = {
  body: Record<string, unknown>;
  status: number;
  code: string | null;
  retryAfter: string | null;
  problem: any;
  sentAt: number;
  ms: number;
};

/** Sends one request and times it; the timeout is far above any wait budget, so a hang shows as a long wait. */
export async function timedPost(url: string, token: string, body: Record<string, unknown>, timeoutMs = 40_000): Promise<Sent> {
  const sentAt = Date.now();
  try {
    const res = await fetch(`${url}/v1/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    const problem = res.status >= 400 && text ? JSON.parse(text) : null;
    return { body, status: res.status, code: problem?.code ?? null, retryAfter: res.headers.get('retry-after'), problem, sentAt, ms: Date.now() - sentAt };
  } catch {
    return { body, status: 0, code: null, retryAfter: null, problem: null, sentAt, ms: Date.now() - sentAt };
  }
}

/**
 * `clients` loops sending requests until `stop()`; every answer lands in `sent`. After anything but a 201 a
 * client waits 100 ms before its next request, as a client honouring a refusal would.
 */
export function steadyLoad(clients: number, send: () => Promise<Sent>): { sent: Sent[]; stop(): Promise<void> } {
  const sent: Sent[] = [];
  let running = true;
  const load = Promise.all(
    Array.from({ length: clients }, async () => {
      while (running) {
        const s = await send();
        sent.push(s);
        if (s.status !== 201) await new Promise((r) => setTimeout(r, 100));
      }
    }),
  );
  return {
    sent,
    async stop() {
      running = false;
      await load;
    },
  };
}
