import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/config/env';
import { createAgent } from '../../src/auth/agents';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { startCountersign, type Countersign } from '../../src/main';
import { createTestDb, type TestDb } from '../support/db';
import { REDIS_URL, deletePrefix, uniquePrefix } from '../support/redis';
import { EXECUTOR_SECRET, actionRequest, eventually } from '../support/harness';
import { startTestExecutor } from '../support/executor-server';

const SECOND_SECRET = 'a-new-executor-secret-987654321';

function configText(executorUrl: string, opts: { budget?: boolean; secretVar?: string; members?: string } = {}): string {
  return `
approver_groups:
  automation-ops: { channel: C0AUTOOPS, members: [${opts.members ?? 'U0ALICE'}] }
executors:
  - name: automation
    action_classes: ["external_automation.*"]
    url: ${executorUrl}
    secret: \${${opts.secretVar ?? 'EXECUTOR_SECRET'}}
${opts.budget ? 'budgets:\n  - { name: one-read-per-task, per: task, max: 1, action_classes: ["external_automation.read.*"] }\n' : ''}`;
}

let db: TestDb;
let dir: string;
let path: string;
let executor: Awaited<ReturnType<typeof startTestExecutor>>;
let app: Countersign;
let token: string;
const prefix = uniquePrefix('cfg');

async function start(): Promise<Countersign> {
  const env = parseEnv({ DATABASE_URL: db.url, REDIS_URL, PORT: '0', COUNTERSIGN_QUEUE_PREFIX: prefix, COUNTERSIGN_POLICIES: 'policies', COUNTERSIGN_CONFIG: path });
  return startCountersign(env);
}

async function post(body: Record<string, unknown>) {
  const res = await fetch(`${app.url}/v1/actions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const versions = () => db.sql<Array<{ seq: string; outcome: string; version: string; diff: Array<{ path: string; before: unknown; after: unknown }>; errors: string[] | null; reason: string; changed_by: string }>>`select * from config_versions order by seq`;

async function cli(args: string[]) {
  let out = '';
  const io: CliIo = { stdout: (s) => void (out += `${s}\n`), stderr: (s) => void (out += `${s}\n`), readStdin: async () => '' };
  return { code: await runCli(args, io), out };
}

beforeAll(async () => {
  process.env.EXECUTOR_SECRET = EXECUTOR_SECRET;
  process.env.SECOND_SECRET = SECOND_SECRET;
  db = await createTestDb();
  executor = await startTestExecutor(EXECUTOR_SECRET);
  dir = mkdtempSync(join(tmpdir(), 'cs-config-'));
  path = join(dir, 'countersign.yaml');
  writeFileSync(path, configText(executor.url));
  app = await start();
  token = (await createAgent(db.db, { name: 'reader-bot', scopes: ['external_automation.*'] }, 'admin:test')).token;
  Object.assign(process.env, { DATABASE_URL: db.url, COUNTERSIGN_CONFIG: path });
});

afterAll(async () => {
  await app?.close();
  await executor?.close();
  await db?.drop();
  await deletePrefix(prefix);
});

describe('countersign.yaml is reloaded and versioned like policy', () => {
  it('records the start-up version with its whole contents as the diff, secrets redacted', async () => {
    const [first, ...rest] = await versions();
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ outcome: 'loaded', reason: 'startup' });
    expect(first!.changed_by).toMatch(/^file-owner:uid:\d+/);
    const secret = first!.diff.find((c) => c.path === 'executors.automation.secret');
    expect(secret?.after).toMatch(/^\[REDACTED sha256:[0-9a-f]{12}\]$/);
    const everything = JSON.stringify(await db.sql`select * from config_versions`) + JSON.stringify(await db.sql`select data from audit_events where type like 'config.%'`);
    expect(everything).not.toContain(EXECUTOR_SECRET);
    expect((await db.sql`select count(*)::int as n from audit_events where type = 'config.loaded'`)[0]!.n).toBe(1);
  });

  it('a valid change takes effect without a restart and is recorded with its diff', async () => {
    const corr = `task-${Date.now()}`;
    expect((await post(actionRequest({ action_class: 'external_automation.read.jobs', correlation_id: corr }))).status).toBe(201);
    expect((await post(actionRequest({ action_class: 'external_automation.read.jobs', correlation_id: corr }))).status).toBe(201);
    writeFileSync(path, configText(executor.url, { budget: true, secretVar: 'SECOND_SECRET', members: 'U0ALICE, U0BOB' }));
    const loaded = await eventually(async () => {
      const rows = await versions();
      return rows.length === 2 ? rows[1] : null;
    }, 10_000, 'the reload recorded');
    expect(loaded!.reason).toMatch(/file change|SIGHUP/);
    const paths = loaded!.diff.map((c) => c.path);
    expect(paths).toEqual(expect.arrayContaining(['approver_groups.automation-ops.members', 'budgets.one-read-per-task.max', 'executors.automation.secret']));
    const secret = loaded!.diff.find((c) => c.path === 'executors.automation.secret')!;
    expect(secret.before).not.toEqual(secret.after);
    expect(JSON.stringify(loaded)).not.toContain(SECOND_SECRET);
    // The new budget applies to the very next request.
    const task = `task2-${Date.now()}`;
    expect((await post(actionRequest({ action_class: 'external_automation.read.jobs', correlation_id: task }))).status).toBe(201);
    const refused = await post(actionRequest({ action_class: 'external_automation.read.jobs', correlation_id: task }));
    expect(refused.status).toBe(429);
    expect(refused.body.type).toMatch(/budget-exhausted/);
    // And the executor is now called with the new secret (the test executor only knows the old one: 401 → failed).
  });

  it('an invalid change is refused with its error, recorded, and the last good configuration stays in force', async () => {
    writeFileSync(path, `${configText(executor.url, { budget: true, secretVar: 'SECOND_SECRET' })}\nexecutors_typo: []\n`);
    const refused = await eventually(async () => {
      const rows = await versions();
      return rows.find((r) => r.outcome === 'refused') ?? null;
    }, 10_000, 'the refusal recorded');
    expect(refused.errors!.join('\n')).toContain('executors_typo');
    expect((await db.sql`select count(*)::int as n from audit_events where type = 'config.refused'`)[0]!.n).toBe(1);
    // Still the budget of the last good version.
    const task = `task3-${Date.now()}`;
    expect((await post(actionRequest({ action_class: 'external_automation.read.jobs', correlation_id: task }))).status).toBe(201);
    expect((await post(actionRequest({ action_class: 'external_automation.read.jobs', correlation_id: task }))).status).toBe(429);
  });

  it('config check validates a candidate and shows its diff; config log lists the history', async () => {
    const candidate = join(dir, 'candidate.yaml');
    writeFileSync(candidate, configText(executor.url, { budget: true, secretVar: 'SECOND_SECRET', members: 'U0ALICE, U0BOB, U0CAROL' }));
    const ok = await cli(['config', 'check', candidate]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('approver_groups.automation-ops.members: ["U0ALICE","U0BOB"] → ["U0ALICE","U0BOB","U0CAROL"]');
    writeFileSync(candidate, 'executors: [ { name: BAD } ]\n');
    const bad = await cli(['config', 'check', candidate]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('is refused');
    const log = await cli(['config', 'log']);
    expect(log.out).toMatch(/refused/);
    expect(log.out).toMatch(/loaded .* \(startup;/);
    expect(log.out).not.toContain(SECOND_SECRET);
    expect((await cli(['config', 'frob'])).code).toBe(2);
  });

  it('a restart records a change made while it was down, and nothing when nothing changed', async () => {
    await app.close();
    writeFileSync(path, configText(executor.url, { budget: false, secretVar: 'SECOND_SECRET', members: 'U0ALICE, U0BOB' }));
    const before = (await versions()).length;
    app = await start();
    const rows = await versions();
    expect(rows).toHaveLength(before + 1);
    expect(rows.at(-1)).toMatchObject({ outcome: 'loaded', reason: 'startup' });
    expect(rows.at(-1)!.diff.map((c) => c.path)).toEqual(['budgets', 'budgets.one-read-per-task.action_classes', 'budgets.one-read-per-task.max', 'budgets.one-read-per-task.name', 'budgets.one-read-per-task.per']);
    // Closed within moments of its start, on purpose: close() lets the workers' start-up replies arrive first.
    await app.close();
    app = await start();
    expect(await versions()).toHaveLength(before + 1);
  });
});
