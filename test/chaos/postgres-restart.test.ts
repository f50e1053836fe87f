import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/auth/agents';
import { verifyChain } from '../../src/audit/verify';
import { connectDb, type DbHandle } from '../../src/db/client';
import { startTestExecutor } from '../support/executor-server';
import { EXECUTOR_SECRET } from '../support/harness';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis';
import type { ServeProcess } from '../support/process';
import { chaosEnv, exactlyOnceFigures, postAction, readAction, startApi, startWorker, stopAll, waitFor, writeConfig } from './support';

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
  const env = chaosEnv({ databaseUrl: url, redisUrl: redis.url, prefix: 'chaos-pg', config: writeConfig(executor.url) });
  const api = await startApi('api-1', env, true); // runs the migrations
  procs = [api, await startWorker('worker-1', env)];
  db = connectDb(url, { max: 2 });
  ({ token } = await createAgent(db.db, { name: 'pg-bot', scopes: ['external_automation.*'] }, 'admin:test'));
}, 120_000);

afterAll(async () => {
  await stopAll(procs);
  await db?.close().catch(() => undefined);
  await executor?.close();
  await redis?.close();
  pg?.close();
}, 60_000);

type Sent = { body: Record<string, unknown>; status: number; retryAfter: string | null; phase: 'up' | 'down' | 'back' };

describe('chaos: PostgreSQL restarted under load', () => {
  it('answers 503 with Retry-After while it is down, leaves nothing half-written, and resumes by itself', async () => {
    const sent: Sent[] = [];
    let phase: Sent['phase'] = 'up';
    let running = true;
    const load = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (running) {
          const body = readAction('pg');
          const at = phase;
          const res = await postAction(procs[0]!.url, token, body).catch(() => ({ status: 0, retryAfter: null, body: null }));
          sent.push({ body, status: res.status, retryAfter: res.retryAfter, phase: at });
          if (res.status !== 201) await new Promise((r) => setTimeout(r, 100));
        }
      }),
    );
    await waitFor(async () => sent.filter((s) => s.status === 201).length >= 40, 60_000, 'load before the outage', 50);
    phase = 'down';
    pg.stop();
    await waitFor(async () => sent.filter((s) => s.phase === 'down' && s.status === 503).length >= 10, 30_000, '503s while down', 50).catch((e) => {
      console.log('[debug]', JSON.stringify(sent.filter((s) => s.phase === 'down').map((s) => s.status)), procs[0]!.output().slice(-3000));
      throw e;
    });
    pg.start();
    phase = 'back';
    await waitFor(async () => sent.filter((s) => s.phase === 'back' && s.status === 201).length >= 40, 60_000, 'service resumed', 50);
    running = false;
    await load;

    const byStatus = sent.reduce<Record<string, number>>((a, s) => ({ ...a, [s.status]: (a[s.status] ?? 0) + 1 }), {});
    const unavailable = sent.filter((s) => s.status === 503);
    // Only 201 or 503 while the database restarts: never a 500, never a hang.
    expect(Object.keys(byStatus).sort()).toEqual(['201', '503']);
    expect(unavailable.every((s) => s.retryAfter !== null && Number(s.retryAfter) > 0)).toBe(true);

    // The client does what Retry-After says: the same request, same idempotency key.
    for (const s of unavailable) {
      const res = await waitFor(async () => {
        const r = await postAction(procs[0]!.url, token, s.body);
        return r.status === 201 ? r : null;
      }, 30_000, 'retried request accepted');
      s.status = res.status;
    }
    const keys = sent.map((s) => String(s.body.idempotency_key));
    const rows = (await db.sql`select id, idempotency_key from actions`) as unknown as Array<{ id: string; idempotency_key: string }>;
    // Exactly one action per request (a 503 either wrote nothing, or all of it and the retry replayed it).
    expect(rows.map((r) => r.idempotency_key).sort()).toEqual([...keys].sort());
    const ids = rows.map((r) => r.id);

    // Nothing half-written: every action has its request and decision evidence and was queued with them
    // (the allow path writes all of it in one statement, drizzle/0008).
    const evidence = await db.sql`
      select a.id,
             (select count(*)::int from audit_events e where e.action_id = a.id and e.type = 'action.requested') as requested,
             (select count(*)::int from audit_events e where e.action_id = a.id and e.type = 'policy.decided') as decided,
             (select count(*)::int from audit_events e where e.action_id = a.id and e.type = 'commit.queued') as queued
      from actions a`;
    expect(evidence.filter((e) => e.requested !== 1 || e.decided !== 1 || e.queued !== 1)).toEqual([]);
    // The evidence chain has no gap or fork across the restart.
    const chain = await verifyChain(db.db);
    expect(chain.break).toBeNull();

    await waitFor(async () => Number((await db.sql`select count(*)::int as n from actions where status = 'committed'`)[0]!.n) === ids.length, 90_000, 'all committed', 300);
    const f = await exactlyOnceFigures(db.sql, executor, ids);
    const driverBug = procs.flatMap((p) => p.output().split('\n')).filter((l) => l.includes('known driver bug')).length;
    console.log(
      `[chaos] postgres restart: requests=${sent.length} answered=${JSON.stringify(byStatus)} (503s all with Retry-After) actions=${f.actions} ` +
        `committed=${f.committed} duplicates=${f.duplicateEffects + f.duplicateCommitEvents} lost=${f.lost} half_written=0 chain_ok=${chain.ok} events_checked=${chain.checked} driver_crashes_survived=${driverBug}`,
    );
    expect(procs.every((p) => p.child.exitCode === null)).toBe(true);
    expect(f.lost).toBe(0);
    expect(f.duplicateEffects + f.duplicateCommitEvents).toBe(0);
  }, 200_000);
});
