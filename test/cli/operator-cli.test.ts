import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { authenticateAgent } from '../../src/auth/agents';
import { agentTokens } from '../../src/db/schema';
import { ADMIN_URL, databaseUrl } from '../support/db';
import { createTestDb, type TestDb } from '../support/db';

const run = promisify(execFile);
const CLI = join(process.cwd(), 'bin/countersign.js');

async function cli(args: string[], env: Record<string, string> = {}, input?: string) {
  try {
    const child = run('node', [CLI, ...args], { env: { ...process.env, VITEST: '', LOG_LEVEL: 'silent', ...env }, timeout: 60_000 });
    if (input !== undefined) {
      child.child.stdin!.end(input);
    }
    const { stdout, stderr } = await child;
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let db: TestDb;
beforeAll(async () => {
  db = await createTestDb();
});
afterAll(async () => {
  await db?.drop();
});

describe('countersign CLI', () => {
  it('migrate applies migrations to an empty database and is idempotent', async () => {
    const name = `cs_cli_${Date.now().toString(36)}`;
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database "${name}"`);
    try {
      const url = databaseUrl(name);
      const first = await cli(['migrate'], { DATABASE_URL: url });
      expect(first.stderr).toBe('');
      expect(first).toMatchObject({ code: 0 });
      expect(first.stdout).toContain('migrations applied');
      expect((await cli(['migrate'], { DATABASE_URL: url })).code).toBe(0);
      const check = postgres(url, { max: 1 });
      const [row] = await check`select count(*)::int as n from information_schema.tables where table_name = 'actions'`;
      await check.end();
      expect(row!.n).toBe(1);
    } finally {
      await admin.unsafe(`drop database if exists "${name}" with (force)`);
      await admin.end();
    }
  });

  it('agents create prints the token once and stores only its hash', async () => {
    const res = await cli(['agents', 'create', 'deploy-bot', '--scopes', 'external_automation.*', '--owner', 'platform'], { DATABASE_URL: db.url });
    expect(res.code).toBe(0);
    const token = /token \(shown once, store it now\): (csa_[A-Za-z0-9]+)/.exec(res.stdout)?.[1];
    expect(token).toBeTruthy();
    const stored = await db.db.select().from(agentTokens);
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(token!);
    const principal = await authenticateAgent(db.db, token!);
    expect(principal?.agent).toMatchObject({ name: 'deploy-bot', owner: 'platform', scopes: ['external_automation.*'] });
  });

  it('agents create refuses a duplicate name and bad scopes', async () => {
    const dup = await cli(['agents', 'create', 'deploy-bot', '--scopes', 'external_automation.*'], { DATABASE_URL: db.url });
    expect(dup.code).toBe(1);
    expect(dup.stderr).toContain('already exists');
    const bad = await cli(['agents', 'create', 'other-bot', '--scopes', 'Bad Scope'], { DATABASE_URL: db.url });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('invalid scope');
    const none = await cli(['agents', 'create', 'other-bot'], { DATABASE_URL: db.url });
    expect(none.code).toBe(2);
  });

  it('agents list shows the agent without its token', async () => {
    const res = await cli(['agents', 'list', '--json'], { DATABASE_URL: db.url });
    expect(res.code).toBe(0);
    const rows = JSON.parse(res.stdout) as { name: string }[];
    expect(rows.map((r) => r.name)).toEqual(['deploy-bot']);
  });

  it('policy eval prints the decision as JSON', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-eval-'));
    const input = join(dir, 'input.json');
    writeFileSync(input, JSON.stringify({ action_class: 'external_automation.workflow.create', params: { target_count: 40 } }));
    const res = await cli(['policy', 'eval', '--policies', 'policies', '--input', input]);
    expect(res.code).toBe(0);
    const decision = JSON.parse(res.stdout);
    expect(decision).toMatchObject({
      decision: 'deny',
      rule_id: 'deny-high-target-count-automation',
      reasoning: 'Requested external automation affects 40 targets, exceeding the standing 25-target hard cap.',
      escalation: null,
    });
    expect(decision.policy_version).toBeTruthy();
    const stdin = await cli(['policy', 'eval', '--policies', 'policies', '--input', '-'], {}, JSON.stringify({ action_class: 'external_automation.workflow.create', params: { target_count: 3 } }));
    expect(JSON.parse(stdin.stdout)).toMatchObject({ decision: 'escalate', escalation: { via: 'automation-ops' } });
  });

  it('reports a bad environment with one line per problem', async () => {
    const res = await cli(['migrate'], { DATABASE_URL: 'not a url', PORT: 'abc' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/DATABASE_URL/);
    expect(res.stderr).toMatch(/PORT/);
  });

  it('unknown commands exit 2 with usage', async () => {
    const res = await cli(['frobnicate']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('usage');
  });
});
