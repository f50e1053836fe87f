import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/auth/agents';
import { verifyChain } from '../../src/audit/verify';
import { connectDb, type DbHandle } from '../../src/db/client';
import { startTestExecutor } from '../support/executor-server';
import { EXECUTOR_SECRET } from '../support/harness';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis';
import type { ServeProcess } from '../support/process';
import { chaosEnv, exactlyOnceFigures, readAction, repeatsWithoutTakeover, startApi, startWorker, steadyLoad, stopAll, timedPost, waitFor, writeConfig, WAIT_BUDGET_MS, WAIT_MARGIN_MS, type Sent } from './support';

/**
 * PostgreSQL, then Redis, each stopped for 30 s under load (docs/operations.md, "Outages"). Long enough for
 * postgres.js's reconnect backoff to grow (its default reaches 20 s), which is what made requests hang.
 */
const OUTAGE_MS = 30_000;
const BUDGET_MS = WAIT_BUDGET_MS;
const MARGIN_MS = WAIT_MARGIN_MS;
const CLIENTS = 6;

let pg: PrivatePostgres;
let redis: PrivateRedis;
let db: DbHandle;
let executor: Awaited<ReturnType<typeof startTestExecutor>>;
let procs: ServeProcess[] = [];
let token: string;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  const url = await pg.createDatabase('countersign');
  executor = await startTestExecutor(EXECUTOR_SECRET, { respond: () => ({ status: 200, body: { ok: true }, delayMs: 10 }) });
  const env = chaosEnv({
    databaseUrl: url,
    redisUrl: redis.url,
    prefix: 'chaos-outage',
    config: writeConfig(executor.url),
    extra: { COUNTERSIGN_DEPENDENCY_WAIT_MS: String(BUDGET_MS) },
  });
  const api = await startApi('api-1', env, true); // runs the migrations
  procs = [api, await startWorker('worker-1', env)];
  db = connectDb(url, { max: 2 });
  ({ token } = await createAgent(db.db, { name: 'outage-bot', scopes: ['external_automation.*'] }, 'admin:test'));
}, 120_000);

afterAll(async () => {
  await stopAll(procs);
  await db?.close().catch(() => undefined);
  await executor?.close();
  await redis?.close();
  pg?.close();
}, 60_000);

async function readyzAt(url: string, status: number, after: number): Promise<number> {
  return waitFor(async () => ((await fetch(`${url}/readyz`)).status === status ? Date.now() - after : null), 30_000, `/readyz ${status}`, 50);
}

type Outage = { name: string; requests: number; longestMs: number; refused: number; firstAfter: Sent; recoverMs: number; readyMs: number };

describe('chaos: PostgreSQL and Redis each down for 30 s under load', () => {
  it('no request waits past the budget, 503 + Retry-After while down, the first request after the return succeeds, nothing twice or half', async () => {
    const url = procs[0]!.url;
    const load = steadyLoad(CLIENTS, () => timedPost(url, token, readAction('outage')));
    const { sent } = load;

    async function outage(name: string, stop: () => unknown, start: () => unknown): Promise<Outage> {
      await waitFor(async () => sent.filter((s) => s.status === 201).length >= 60, 60_000, `load before the ${name} outage`, 50);
      const downAt = Date.now();
      await stop();
      await readyzAt(url, 503, downAt);
      await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - downAt)));
      await start();
      const backAt = Date.now();
      const readyMs = await readyzAt(url, 200, backAt);
      // The first request sent after the service came back, and when the first success arrived.
      const firstAfter = await waitFor(async () => sent.filter((s) => s.sentAt >= backAt).sort((a, b) => a.sentAt - b.sentAt)[0], 30_000, 'a request after the return', 20);
      const firstOk = await waitFor(async () => sent.filter((s) => s.sentAt >= downAt && s.status === 201).sort((a, b) => a.sentAt + a.ms - (b.sentAt + b.ms))[0], 30_000, 'a success after the return', 20);
      // Requests in flight or sent while the service was down (and those answered before it was seen back).
      const during = sent.filter((s) => s.sentAt + s.ms >= downAt && s.sentAt < backAt);
      return {
        name,
        requests: during.length,
        refused: during.filter((s) => s.status === 503).length,
        longestMs: Math.max(...during.map((s) => s.ms)),
        firstAfter,
        recoverMs: Math.max(0, firstOk.sentAt + firstOk.ms - backAt),
        readyMs,
      };
    }

    const outages = [
      await outage('postgres', () => pg.stop(), () => pg.start()),
      await outage('redis', () => redis.stop(), () => redis.start()),
    ];
    await waitFor(async () => sent.filter((s) => s.status === 201 && s.sentAt > Date.now() - 2000).length >= 20, 60_000, 'load after both outages', 50);
    await load.stop();

    const byStatus = sent.reduce<Record<string, number>>((a, s) => ({ ...a, [s.status]: (a[s.status] ?? 0) + 1 }), {});
    for (const o of outages) {
      console.log(
        `[chaos] ${o.name} down ${OUTAGE_MS / 1000} s (budget ${BUDGET_MS} ms): requests=${o.requests} refused_503=${o.refused} longest_wait_ms=${o.longestMs} ` +
          `first_after_return=${o.firstAfter.status} first_success_after_return_ms=${o.recoverMs} readyz_200_after_ms=${o.readyMs}`,
      );
    }
    // Only 201 or 503: never a 500, never a dropped connection.
    expect(Object.keys(byStatus).sort()).toEqual(['201', '503']);
    const refused = sent.filter((s) => s.status === 503);
    expect(refused.every((s) => Number(s.retryAfter) >= 1 && s.problem.code === 'service-unavailable' && s.problem.retryable === true)).toBe(true);
    for (const o of outages) {
      expect(o.refused).toBeGreaterThan(10); // the outage really was under load
      expect(o.longestMs).toBeLessThanOrEqual(BUDGET_MS + MARGIN_MS);
      expect(o.firstAfter.status).toBe(201);
    }
    expect(new Set(refused.map((s) => s.problem.dependency))).toEqual(new Set(['postgres', 'redis']));
    // Outage 503s are warnings: no error-level request lines in the API's log.
    const errors = procs[0]!.output().split('\n').filter((l) => l.includes('"level":50') && l.includes('"status":503'));
    expect(errors).toEqual([]);

    // The client does what Retry-After says: the same request, same idempotency key.
    for (const s of refused) {
      const res = await waitFor(async () => {
        const r = await timedPost(url, token, s.body);
        return r.status === 201 ? r : null;
      }, 30_000, 'retried request accepted');
      s.status = res.status;
    }
    const keys = sent.map((s) => String(s.body.idempotency_key));
    const rows = (await db.sql`select id, idempotency_key from actions`) as unknown as Array<{ id: string; idempotency_key: string }>;
    // Exactly one action per request (a 503 either wrote nothing, or all of it and the retry replayed it).
    expect(rows.map((r) => r.idempotency_key).sort()).toEqual([...keys].sort());
    const ids = rows.map((r) => r.id);

    // Nothing half-written: every action has its request and decision evidence and was queued with them.
    const evidence = await db.sql`
      select a.id,
             (select count(*)::int from audit_events e where e.action_id = a.id and e.type = 'action.requested') as requested,
             (select count(*)::int from audit_events e where e.action_id = a.id and e.type = 'policy.decided') as decided,
             (select count(*)::int from audit_events e where e.action_id = a.id and e.type = 'commit.queued') as queued
      from actions a`;
    expect(evidence.filter((e) => e.requested !== 1 || e.decided !== 1 || e.queued !== 1)).toEqual([]);
    const chain = await verifyChain(db.db);
    expect(chain.break).toBeNull();

    await waitFor(async () => Number((await db.sql`select count(*)::int as n from actions where status = 'committed'`)[0]!.n) === ids.length, 120_000, 'all committed', 300);
    const f = await exactlyOnceFigures(db.sql, executor, ids);
    console.log(
      `[chaos] outages: requests=${sent.length} answered=${JSON.stringify(byStatus)} actions=${f.actions} committed=${f.committed} ` +
        `duplicates=${f.duplicateEffects + f.duplicateCommitEvents} lost=${f.lost} redelivered_calls=${f.redeliveredCalls} chain_ok=${chain.ok}`,
    );
    expect(procs.every((p) => p.child.exitCode === null)).toBe(true);
    expect(f.lost).toBe(0);
    expect(f.duplicateEffects + f.duplicateCommitEvents).toBe(0);
    // A call whose outcome could not be recorded (PostgreSQL went away meanwhile) is made again after its lease,
    // with the same idempotency key: repeated calls may show (4 in one run), duplicate effects may not, and
    // every repeat follows a take-over.
    expect(f.duplicateEffects).toBe(0);
    expect(await repeatsWithoutTakeover(db.sql, executor)).toEqual([]);
  }, 300_000);
});
