import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { createAgent } from '../../src/auth/agents';
import { verifyChain } from '../../src/audit/verify';
import { connectDb, type DbHandle } from '../../src/db/client';
import { execRows } from '../../src/db/exec';
import { execNamed } from '../../src/db/exec-named';
import { MIGRATIONS_FOLDER, runMigrations } from '../../src/db/migrate';
import { APPROVE_ACTION_ID } from '../../src/slack/blocks/approval-card';
import { chaosEnv, exactlyOnceFigures, readAction, repeatsWithoutTakeover, steadyLoad, stopAll, timedPost, waitFor, writeConfig, WAIT_BUDGET_MS, WAIT_MARGIN_MS } from '../chaos/support';
import { startTestExecutor } from '../support/executor-server';
import { ALICE, AUTOMATION_OPS_CHANNEL, EXECUTOR_SECRET, actionRequest, eventually } from '../support/harness';
import { startPrivatePgBouncer, type PrivatePgBouncer } from '../support/private-pgbouncer';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis';
import { startServe, type ServeProcess } from '../support/process';
import { blockText, startSlackHarness, type SlackHarness } from '../support/slack';

/**
 * Countersign behind Debian's PgBouncer (1.18) in transaction pooling mode, on a private PostgreSQL
 * (docs/operations.md, "PgBouncer"). Consecutive transactions of one client connection land on whichever
 * server connection is free, so nothing may rely on a session: named prepared statements are off
 * (COUNTERSIGN_DB_PREPARED_STATEMENTS=false: PgBouncer < 1.21 does not carry them across server connections),
 * so is pipelining (COUNTERSIGN_DB_PIPELINING=false: PgBouncer < 1.21 loses the answers to statements sent
 * behind another), there is no LISTEN (long polls poll), advisory locks are transaction-scoped, the periodic
 * tasks' lease is a row (src/queue/periodic.ts), and migrations run in one transaction (src/db/migrate.ts).
 *
 * The app's server pool is one connection against its 10 client connections, so transactions really queue
 * for it: an app that holds a server connection while waiting for another (as the periodic tasks'
 * advisory-lock transaction did) stalls here.
 */
const POOL = 1;
/** PGB_PIPELINING=true runs the app with pipelining on, to see the hang this setting prevents. */
const PIPELINING = process.env.PGB_PIPELINING ?? 'false';
let pg: PrivatePostgres;
let pgb: PrivatePgBouncer;
let direct: DbHandle;

beforeAll(async () => {
  pg = await startPrivatePostgres();
  const url = await pg.createDatabase('countersign');
  pgb = await startPrivatePgBouncer({ host: '127.0.0.1', port: pg.port }, { poolSize: POOL });
  direct = connectDb(url, { max: 3 });
}, 60_000);

afterAll(async () => {
  await direct?.close();
  await pgb?.close();
  pg?.close();
}, 60_000);

describe('through PgBouncer in transaction mode', () => {
  it('migrations run through it, two instances at once: applied once, in drizzle’s bookkeeping', async () => {
    await Promise.all([runMigrations(pgb.url('countersign')), runMigrations(pgb.url('countersign'))]);
    await runMigrations(pgb.url('countersign'));
    const applied = await direct.sql`select hash, created_at from drizzle.__drizzle_migrations order by created_at`;
    const files = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
    expect(applied.map((r) => r.hash)).toEqual(files.map((f) => f.hash));
    // No advisory lock is left behind on a pooled server connection.
    expect(await direct.sql`select 1 from pg_locks where locktype = 'advisory'`).toEqual([]);
  });

  it('named prepared statements break across server connections; COUNTERSIGN_DB_PREPARED_STATEMENTS=false avoids them', async () => {
    // A bouncer of its own that hands out its three server connections in turn (server_round_robin), warmed
    // so all three exist: each transaction lands on another server connection than the one before.
    const own = await startPrivatePgBouncer({ host: '127.0.0.1', port: pg.port }, { poolSize: 3, settings: { server_round_robin: 1 } });
    const run = async (preparedStatements: boolean) => {
      const warm = connectDb(own.url('countersign'), { max: 3, preparedStatements: false });
      const h = connectDb(own.url('countersign'), { max: 1, preparedStatements });
      try {
        await Promise.all([1, 2, 3].map(() => warm.sql`select pg_sleep(0.2)`));
        const results: string[] = [];
        for (let i = 0; i < 6; i++) {
          // The app's shape: a named statement (execNamed, as the evidence append runs) inside a transaction.
          // postgres.js re-prepares a statement missing on the server outside a transaction; inside one, the
          // transaction is already aborted.
          results.push(
            await h.db
              .transaction((tx) => execNamed<{ n: number }>(tx, { name: 'pgb_probe', text: 'select $1::int + 1 as n' }, [i]))
              .then(
                (rows) => (Number(rows[0]!.n) === i + 1 ? 'ok' : 'wrong'),
                (e: { code?: string; cause?: { code?: string } }) => String(e.cause?.code ?? e.code),
              ),
          );
        }
        return results;
      } finally {
        await h.close();
        await warm.close();
      }
    };
    try {
      const on = await run(true);
      // 26000: prepared statement does not exist (it was prepared on another server connection).
      expect(on.filter((r) => r === '26000').length, on.join(',')).toBeGreaterThan(0);
      expect(await run(false)).toEqual(Array(6).fill('ok'));
    } finally {
      await own.close();
    }
  }, 30_000);

  it('pipelined statements lose their answers behind it; COUNTERSIGN_DB_PIPELINING=false keeps one per connection', async () => {
    // Its own bouncer (a server pool of 1): lost answers may leave its connections in a state the next test should not see.
    const own = await startPrivatePgBouncer({ host: '127.0.0.1', port: pg.port }, { poolSize: 1 });
    const run = async (pipelining: boolean) => {
      // Two connections for 300 statements at once: postgres.js pipelines the rest onto busy connections.
      const h = connectDb(own.url('countersign'), { max: 2, preparedStatements: false, pipelining });
      try {
        const results = await Promise.all(
          Array.from({ length: 300 }, (_, i) =>
            Promise.race([
              // Every other one lasts a few milliseconds on the server, so what is pipelined behind it has certainly
              // been passed on to the server before its answer ends the bouncer's transaction.
              execRows<{ n: number }>(h.db, i % 2 ? sql`select ${i}::int as n` : sql`select 1 as n from pg_sleep(0.005)`).then(
                (rows) => (Number(rows[0]!.n) === (i % 2 ? i : 1) ? 'ok' : 'wrong'),
                (e: { code?: string }) => String(e.code),
              ),
              new Promise<string>((r) => setTimeout(() => r('hung'), 8000).unref()),
            ]),
          ),
        );
        return results.reduce<Record<string, number>>((a, r) => ({ ...a, [r]: (a[r] ?? 0) + 1 }), {});
      } finally {
        await h.sql.end({ timeout: 1 });
      }
    };
    try {
      const on = await run(true);
      // Some never answered (or, when a lost answer reached the wrong query, failed or answered wrongly).
      expect(on.ok ?? 0, JSON.stringify(on)).toBeLessThan(300);
      const off = await run(false);
      expect(off, JSON.stringify({ on, off })).toEqual({ ok: 300 });
    } finally {
      await own.close();
    }
  }, 40_000);

  describe('the app through it (prepared statements and pipelining off, a server pool of 1)', () => {
    let h: SlackHarness;
    beforeAll(async () => {
      const handle = connectDb(pg.url('countersign'), { max: 5 });
      h = await startSlackHarness({
        database: { ...handle, url: pg.url('countersign'), name: 'countersign', drop: () => handle.close() },
        databaseUrl: () => pgb.url('countersign'),
        env: { COUNTERSIGN_DB_PREPARED_STATEMENTS: 'false', COUNTERSIGN_DB_PIPELINING: PIPELINING },
      });
    }, 60_000);
    afterAll(async () => {
      await h?.close();
    }, 60_000);

    /** The bouncer's pools and PostgreSQL's sessions, for a failure's output. */
    const diagnose = async (what: string) =>
      console.log(
        `[deploy] ${what}:`,
        JSON.stringify(pgb.show('POOLS').filter((p) => p.database === 'countersign')),
        JSON.stringify(await direct.sql`select pid, state, application_name, wait_event, now() - xact_start as xact_age, query from pg_stat_activity where datname = 'countersign'`),
      );

    const readRequest = (n: number) =>
      actionRequest({ action_class: 'external_automation.read.jobs', params: { job: `pgb-${n}` }, context: {}, justification: 'read through pgbouncer' });

    it('the allow path under concurrency: every action committed once, replays answered from the first write', async () => {
      // A hang here has been a lost answer (pipelining): say where things stood if it comes back.
      const diagTimer = setTimeout(() => void diagnose('the allow path is slow'), 30_000);
      onTestFinished(() => clearTimeout(diagTimer));
      const requests = Array.from({ length: 40 }, (_, i) => readRequest(i));
      const first = await Promise.all(requests.map((r) => h.post(r)));
      expect(first.map((r) => r.status)).toEqual(Array(40).fill(201));
      const again = await Promise.all(requests.map((r) => h.post(r)));
      expect(again.map((r) => r.body.id)).toEqual(first.map((r) => r.body.id));
      expect(again.every((r) => r.headers.get('idempotent-replayed') === 'true')).toBe(true);
      const ids = first.map((r) => r.body.id as string);
      await eventually(async () => (await Promise.all(ids.map((id) => h.status(id)))).every((s) => s === 'committed'), 30_000, 'all committed');
      const f = await exactlyOnceFigures(direct.sql, h.executor, ids);
      expect(f.lost).toBe(0);
      expect(f.duplicateEffects + f.duplicateCommitEvents).toBe(0);
      expect(f.redeliveredCalls).toBe(0);
      // The evidence chain holds across pooled connections.
      expect((await verifyChain(direct.db)).break).toBeNull();
      // The app really went through the bouncer, with more client connections than the servers they shared.
      const pool = pgb.show('POOLS').find((p) => p.database === 'countersign')!;
      expect(Number(pool.sv_active) + Number(pool.sv_idle) + Number(pool.sv_used)).toBeLessThanOrEqual(POOL);
      expect(pgb.show('CLIENTS').filter((c) => c.database === 'countersign').length).toBeGreaterThan(POOL);
    }, 60_000);

    it('an approval in Slack, a long poll and the release: the whole story', async () => {
      const created = await h.post(actionRequest());
      expect(created.body.status).toBe('pending_approval');
      const id: string = created.body.id;
      const waiting = h.get(`/v1/actions/${id}?wait=20&status=pending_approval`);
      const card = await h.slack.waitForMessage(AUTOMATION_OPS_CHANNEL, (m) => blockText(m.blocks ?? []).includes(id), { timeoutMs: 10_000 });
      await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
      expect((await waiting).body.status).not.toBe('pending_approval');
      await eventually(async () => (await h.status(id)) === 'committed', 15_000, 'committed');
      expect((await h.events(id)).map((e) => e.type)).toEqual(expect.arrayContaining(['action.requested', 'approval.recorded', 'commit.succeeded']));
      // The periodic tasks ran through the bouncer too (their lease rows), and hold nothing between runs.
      await eventually(async () => (await direct.sql`select task from periodic_leases where task in ('expiry', 'relay')`).length === 2, 10_000, 'the relay and expiry leases').catch(async (e: unknown) => {
        await diagnose('no periodic task ran');
        throw e;
      });
    }, 60_000);
  });

  describe('PostgreSQL down behind it, under load', () => {
    /**
     * PgBouncer holds a query until it has a server connection, so the app's wait budget (which bounds only
     * queries still queued in the driver) cannot see this wait: PgBouncer's own query_wait_timeout bounds it,
     * and server_login_retry decides how soon it tries PostgreSQL again. Both are set as docs/operations.md
     * recommends; at their defaults (120 s, 15 s) a request hung until the test's own timeout.
     */
    const OUTAGE_MS = 8_000;
    const BUDGET_MS = WAIT_BUDGET_MS;
    const MARGIN_MS = WAIT_MARGIN_MS;
    let fast: PrivatePgBouncer;
    let redis: PrivateRedis;
    let executor: Awaited<ReturnType<typeof startTestExecutor>>;
    let app: ServeProcess | undefined;
    let token: string;

    beforeAll(async () => {
      fast = await startPrivatePgBouncer({ host: '127.0.0.1', port: pg.port }, { poolSize: 4, settings: { query_wait_timeout: 1, server_login_retry: 0.25 } });
      redis = await startPrivateRedis();
      executor = await startTestExecutor(EXECUTOR_SECRET, { respond: () => ({ status: 200, body: { ok: true }, delayMs: 10 }) });
      const env = chaosEnv({
        databaseUrl: fast.url('countersign'),
        redisUrl: redis.url,
        prefix: 'pgb-outage',
        config: writeConfig(executor.url),
        extra: { COUNTERSIGN_DEPENDENCY_WAIT_MS: String(BUDGET_MS), COUNTERSIGN_DB_PREPARED_STATEMENTS: 'false', COUNTERSIGN_DB_PIPELINING: PIPELINING },
      });
      app = await startServe('app', ['--migrate=false'], env);
      ({ token } = await createAgent(direct.db, { name: 'pgb-outage-bot', scopes: ['external_automation.*'] }, 'admin:test'));
    }, 90_000);
    afterAll(async () => {
      await stopAll([app]);
      await executor?.close();
      await redis?.close();
      await fast?.close();
    }, 60_000);


    it('503 within the budget while it is down, served again once it is back; nothing lost, nothing twice', async () => {
      const load = steadyLoad(4, () => timedPost(app!.url, token, readAction('pgb-outage'), 30_000));
      const { sent } = load;
      await waitFor(async () => sent.filter((s) => s.status === 201).length >= 30, 60_000, 'load before the outage', 50);
      const downAt = Date.now();
      pg.stop();
      await new Promise((r) => setTimeout(r, OUTAGE_MS - (Date.now() - downAt)));
      pg.start();
      const backAt = Date.now();
      const firstOk = await waitFor(async () => sent.filter((s) => s.sentAt >= backAt && s.status === 201).sort((a, b) => a.sentAt + a.ms - (b.sentAt + b.ms))[0], 30_000, 'a success after the return', 20).catch((e: unknown) => {
        void load.stop();
        console.log(sent.slice(-20), app!.output().slice(-5000), fast.log().slice(-3000));
        throw e;
      });
      await waitFor(async () => sent.filter((s) => s.status === 201 && s.sentAt > Date.now() - 2000).length >= 20, 60_000, 'load after the outage', 50);
      await load.stop();

      const during = sent.filter((s) => s.sentAt + s.ms >= downAt && s.sentAt < backAt);
      const firstAfter = sent.filter((s) => s.sentAt >= backAt).sort((a, b) => a.sentAt - b.sentAt)[0]!;
      const byStatus = sent.reduce<Record<string, number>>((a, s) => ({ ...a, [s.status]: (a[s.status] ?? 0) + 1 }), {});
      const longestMs = Math.max(...during.map((s) => s.ms));
      const recoverMs = firstOk.sentAt + firstOk.ms - backAt;
      // Only 201 or 503 (service-unavailable): never a 500, never a dropped connection.
      expect(Object.keys(byStatus).sort()).toEqual(['201', '503']);
      expect(sent.filter((s) => s.status === 503).every((s) => s.code === 'service-unavailable')).toBe(true);
      expect(during.filter((s) => s.status === 503).length).toBeGreaterThan(5);
      expect(longestMs).toBeLessThanOrEqual(BUDGET_MS + MARGIN_MS);

      // Every refused request retried with its key lands exactly once.
      for (const s of sent.filter((x) => x.status === 503)) {
        await waitFor(async () => (await timedPost(app!.url, token, s.body, 30_000)).status === 201, 30_000, 'retried request accepted');
      }
      const keys = sent.map((s) => String(s.body.idempotency_key)).sort();
      const rows = (await direct.sql`select a.id, a.idempotency_key from actions a join agents g on g.id = a.agent_id where g.name = 'pgb-outage-bot'`) as unknown as Array<{ id: string; idempotency_key: string }>;
      expect(rows.map((r) => r.idempotency_key).sort()).toEqual(keys);
      const ids = rows.map((r) => r.id);
      await waitFor(async () => Number((await direct.sql`select count(*)::int as n from actions where id = any(${ids}) and status = 'committed'`)[0]!.n) === ids.length, 60_000, 'all committed', 300);
      const f = await exactlyOnceFigures(direct.sql, executor, ids);
      const chain = await verifyChain(direct.db);
      console.log(
        `[deploy] pgbouncer: postgres down ${OUTAGE_MS / 1000} s behind PgBouncer (query_wait_timeout 1 s, budget ${BUDGET_MS} ms): requests=${sent.length} during=${during.length} ` +
          `answered=${JSON.stringify(byStatus)} longest_wait_ms=${longestMs} first_after_return=${firstAfter.status} first_success_after_return_ms=${recoverMs} ` +
          `actions=${f.actions} lost=${f.lost} duplicates=${f.duplicateEffects + f.duplicateCommitEvents} redelivered_calls=${f.redeliveredCalls} chain_ok=${chain.ok}`,
      );
      expect(f.lost).toBe(0);
      expect(f.duplicateEffects + f.duplicateCommitEvents).toBe(0);
      // Repeated calls (outcomes not recorded while PostgreSQL was down) only after a lease take-over.
      expect(await repeatsWithoutTakeover(direct.sql, executor)).toEqual([]);
      expect(chain.break).toBeNull();
      expect(app!.child.exitCode).toBeNull();
    }, 180_000);
  });
});
