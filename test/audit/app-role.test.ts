import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { parseEnv } from '../../src/config/env';
import { createAgent } from '../../src/auth/agents';
import { verifyChain } from '../../src/audit/verify';
import { startCountersign, type Countersign } from '../../src/main';
import { ADMIN_URL, createTestDb, type TestDb } from '../support/db';
import { REDIS_URL, deletePrefix, uniquePrefix } from '../support/redis';
import { EXECUTOR_SECRET, actionRequest, eventually, testConfig } from '../support/harness';
import { startTestExecutor } from '../support/executor-server';

/**
 * The app runs as a login role in countersign_app (drizzle/0009_app_role.sql), which owns nothing: the tests
 * play a compromised app trying to rewrite its own evidence, and a deployment running normally as that role.
 */
let db: TestDb;
let role: string;
let appUrl: string;
let asApp: postgres.Sql;

beforeAll(async () => {
  db = await createTestDb();
  role = `cs_app_t_${randomBytes(4).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create role "${role}" login in role countersign_app`);
  await admin.end();
  const u = new URL(db.url);
  u.username = role;
  appUrl = u.toString();
  asApp = postgres(appUrl, { max: 1, onnotice: () => {} });
  // Some evidence to attack.
  await createAgent(db.db, { name: 'victim-bot', scopes: ['external_automation.*'] }, 'admin:test');
});

afterAll(async () => {
  await asApp?.end();
  await db?.drop();
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop role if exists "${role}"`);
  await admin.end();
});

describe('the app role cannot change the evidence', () => {
  it('is not the owner of audit_events', async () => {
    const [row] = await asApp`select tableowner, current_user as me from pg_tables where tablename = 'audit_events'`;
    expect(row!.tableowner).not.toBe(row!.me);
    const [member] = await asApp`select pg_has_role(current_user, 'countersign_app', 'member') as ok`;
    expect(member!.ok).toBe(true);
  });

  const attacks: Array<[string, string, RegExp]> = [
    ['ALTER TABLE … DISABLE TRIGGER (the append-only trigger)', 'alter table audit_events disable trigger audit_events_append_only', /must be owner/],
    ['ALTER TABLE … DISABLE TRIGGER ALL', 'alter table audit_events disable trigger all', /must be owner/],
    ['DROP TRIGGER', 'drop trigger audit_events_no_truncate on audit_events', /must be owner/],
    ['TRUNCATE', 'truncate audit_events', /permission denied/],
    ['UPDATE of an audit row', "update audit_events set data = '{}'::jsonb where seq = (select min(seq) from audit_events)", /permission denied/],
    ['DELETE of audit rows', 'delete from audit_events', /permission denied/],
    ['DROP TABLE', 'drop table audit_events', /must be owner/],
    ['replacing the trigger function', "create or replace function audit_events_refuse_change() returns trigger language plpgsql as $$ begin return new; end $$", /must be owner|permission denied for schema/],
    ['switching triggers off for the session', "set session_replication_role = 'replica'", /permission denied/],
  ];
  it.each(attacks)('refuses %s', async (_name, statement, error) => {
    await expect(asApp.unsafe(statement)).rejects.toThrow(error);
  });

  it('left the evidence intact', async () => {
    const [n] = await db.sql`select count(*)::int as n from audit_events`;
    expect(n!.n).toBeGreaterThan(0);
    expect((await verifyChain(db.db)).ok).toBe(true);
  });

  it('the owner (migrations) still can disable the trigger: the protection is the role, not the trigger alone', async () => {
    await db.sql`alter table audit_events disable trigger audit_events_append_only`;
    await db.sql`alter table audit_events enable trigger audit_events_append_only`;
  });
});

describe('a deployment running as the app role', () => {
  let app: Countersign;
  let executor: Awaited<ReturnType<typeof startTestExecutor>>;
  const prefix = uniquePrefix('approle');

  beforeAll(async () => {
    executor = await startTestExecutor(EXECUTOR_SECRET);
    const env = parseEnv({ DATABASE_URL: appUrl, REDIS_URL, PORT: '0', COUNTERSIGN_QUEUE_PREFIX: prefix, COUNTERSIGN_POLICIES: 'policies' });
    app = await startCountersign(env, { config: testConfig(executor.url) });
  });
  afterAll(async () => {
    await app?.close();
    await executor?.close();
    await deletePrefix(prefix);
  });

  it('takes, decides, releases and records an action', async () => {
    const { token } = await createAgent(db.db, { name: 'reader-bot', scopes: ['external_automation.*'] }, 'admin:test');
    const res = await fetch(`${app.url}/v1/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(actionRequest({ action_class: 'external_automation.read.jobs' })),
    });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await eventually(async () => {
      const [row] = await db.sql`select status from actions where id = ${id}`;
      return row?.status === 'committed';
    }, 15_000, 'committed');
    const types = (await db.sql`select type from audit_events where action_id = ${id} order by seq`).map((r) => r.type);
    expect(types).toContain('commit.succeeded');
    expect((await verifyChain(db.db)).ok).toBe(true);
  });
});
