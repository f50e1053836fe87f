import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/config/env';
import { execRows } from '../../src/db/exec';
import { claimDataDir } from '../../src/embedded/data-dir';
import { openEmbeddedDatabase } from '../../src/embedded/database';
import { NO_REDIS_MESSAGE, findOnPath } from '../../src/embedded/redis-server';
import { startLocal } from '../../src/embedded/start';
import { SANDBOX_CHANNEL } from '../../src/sandbox/config';
import { eventually } from '../support/harness';

const dirs: string[] = [];
function tempDir(label: string): string {
  const d = mkdtempSync(join(tmpdir(), `cs-${label}-`));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** No DATABASE_URL, no REDIS_URL, no Slack: everything is started from the data directory. */
function bareEnv(dataDir: string) {
  return parseEnv({ PORT: '0', COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_CONFIG: join(dataDir, 'absent.yaml'), COUNTERSIGN_POLICIES: 'policies' });
}

async function request(url: string, token: string, body: Record<string, unknown>) {
  const res = await fetch(`${url}/v1/actions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}
async function getAction(url: string, token: string, id: string) {
  const res = await fetch(`${url}/v1/actions/${id}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as any };
}

describe('embedded start (no DATABASE_URL, no REDIS_URL, no Slack)', () => {
  it('runs on PGlite and a private redis-server, and data survives a restart', async () => {
    const dataDir = tempDir('embedded');
    const lines: string[] = [];
    const first = await startLocal(bareEnv(dataDir), { say: (l) => lines.push(l) });
    let token: string;
    let pendingId: string;
    let committedId: string;
    try {
      expect(first.embedded).toEqual({ database: true, redis: true });
      expect(first.sandbox).not.toBeNull();
      token = first.demoToken!;
      expect(token).toMatch(/^csa_/);
      expect(lines.join('\n')).toContain(token);
      expect(lines.join('\n')).toContain(`${first.url}/sandbox`);
      expect((await fetch(`${first.url}/readyz`)).status).toBe(200);

      const allowed = await request(first.url, token, { action_class: 'external_automation.read.jobs', params: { target_count: 1 }, idempotency_key: 'emb-read' });
      expect(allowed.status).toBe(201);
      committedId = allowed.body.id;
      // Through the private Redis, the commit worker and the built-in demo executor.
      await eventually(async () => (await getAction(first.url, token, committedId)).body.status === 'committed', 15_000, 'the allowed action to commit');
      const escalated = await request(first.url, token, { action_class: 'external_automation.workflow.create', params: { name: 'n', target_count: 3 }, idempotency_key: 'emb-wf' });
      expect(escalated.body.status).toBe('pending_approval');
      pendingId = escalated.body.id;
    } finally {
      await first.close();
    }
    expect(existsSync(join(dataDir, 'countersign.pid'))).toBe(false);
    expect(readdirSync(join(dataDir, 'pgdata')).length).toBeGreaterThan(0);
    // Redis kept its append-only file (Redis 7 keeps it in a directory).
    const aof = join(dataDir, 'redis', 'appendonlydir');
    expect(existsSync(aof) || existsSync(join(dataDir, 'redis', 'appendonly.aof'))).toBe(true);

    const again: string[] = [];
    const second = await startLocal(bareEnv(dataDir), { say: (l) => again.push(l) });
    try {
      // The demo agent exists already: no new one, and the old token still works.
      expect(second.demoToken).toBeNull();
      expect(again.join('\n')).not.toContain('csa_');
      const committed = await getAction(second.url, token, committedId);
      expect(committed.status).toBe(200);
      expect(committed.body.status).toBe('committed');
      expect(committed.body.result.did).toContain('external_automation.read.jobs');
      const pending = await getAction(second.url, token, pendingId);
      expect(pending.body.status).toBe('pending_approval');
      // The idempotency record survived too: the same key replays the same action.
      const replay = await request(second.url, token, { action_class: 'external_automation.workflow.create', params: { name: 'n', target_count: 3 }, idempotency_key: 'emb-wf' });
      expect(replay.body.id).toBe(pendingId);
      // The sandbox's Slack starts empty: the pending card is posted again, and approving it commits (on PGlite).
      expect(again.join('\n')).toContain('posted 1 pending approval card(s) again');
      const emulator = second.sandbox!.emulator;
      const card = await emulator.waitForMessage(SANDBOX_CHANNEL.id, (m) => JSON.stringify(m.blocks ?? []).includes(pendingId), { timeoutMs: 15_000 });
      const click = await emulator.clickButton({ user: 'U0ALEX', channel: SANDBOX_CHANNEL.id, ts: card.ts, actionId: 'countersign_approve' });
      expect(click.ok).toBe(true);
      await eventually(async () => (await getAction(second.url, token, pendingId)).body.status === 'committed', 15_000, 'the approved action to commit');
      await eventually(async () => emulator.thread(SANDBOX_CHANNEL.id, card.ts).some((r) => r.ts !== card.ts && /Committed/.test(JSON.stringify(r.blocks))), 10_000, 'the commit reply');
    } finally {
      await second.close();
    }
  }, 120_000);

  it('refuses a second Countersign on the same data directory, and takes over a dead one\'s lock', () => {
    const dataDir = tempDir('locked');
    const lock = claimDataDir(dataDir);
    try {
      // A lock naming a live process (here: vitest's parent) belongs to someone else.
      writeFileSync(join(dataDir, 'countersign.pid'), String(process.ppid));
      expect(() => claimDataDir(dataDir)).toThrow(new RegExp(`in use by another Countersign \\(pid ${process.ppid}\\)`));
      writeFileSync(join(dataDir, 'countersign.pid'), '999999999');
      claimDataDir(dataDir).release();
    } finally {
      lock.release();
      rmSync(join(dataDir, 'countersign.pid'), { force: true });
    }
  });
});

describe('the embedded database', () => {
  it('is not stopped by a first start that was interrupted during initdb', async () => {
    const dataDir = tempDir('interrupted');
    // What a start killed half-way could leave: a cluster being built and a pgdata without PG_VERSION.
    mkdirSync(join(dataDir, 'pgdata.init', 'base'), { recursive: true });
    writeFileSync(join(dataDir, 'pgdata.init', 'base', 'junk'), 'x');
    mkdirSync(join(dataDir, 'pgdata'));
    writeFileSync(join(dataDir, 'pgdata', 'postgresql.conf'), 'not a configuration');
    // No template: initdb itself (the template's own path is tested below).
    const conn = await openEmbeddedDatabase(join(dataDir, 'pgdata'), { template: null });
    try {
      const [row] = await execRows<{ n: number }>(conn.db, sql`select count(*)::int as n from agents`);
      expect(row?.n).toBe(0);
    } finally {
      await conn.close();
    }
    expect(existsSync(join(dataDir, 'pgdata', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(dataDir, 'pgdata.init'))).toBe(false);
  }, 120_000);
});

describe('without redis-server', () => {
  it('`countersign serve` stops with one line saying how to get Redis or where to point REDIS_URL', () => {
    const dataDir = tempDir('noredis');
    // A PATH with node but without redis-server.
    const nodeDir = dirname(process.execPath);
    const path = findOnPath('redis-server', nodeDir) ? '/nonexistent' : nodeDir;
    const res = spawnSync(process.execPath, ['bin/countersign.js', 'serve'], {
      env: { PATH: path, HOME: process.env.HOME ?? '/root', COUNTERSIGN_DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'silent', COUNTERSIGN_FROM_SOURCE: '1' },
      encoding: 'utf8',
      timeout: 80_000,
    });
    expect(res.status).toBe(1);
    const lines = res.stderr.trim().split('\n');
    expect(lines).toEqual([NO_REDIS_MESSAGE]);
    expect(NO_REDIS_MESSAGE).toMatch(/apt-get install redis-server/);
    expect(NO_REDIS_MESSAGE).toMatch(/brew install redis/);
    expect(NO_REDIS_MESSAGE).toMatch(/REDIS_URL/);
    // Nothing was started or left behind: no database files, no lock.
    expect(existsSync(join(dataDir, 'pgdata'))).toBe(false);
    expect(existsSync(join(dataDir, 'countersign.pid'))).toBe(false);
    expect(statSync(dataDir).isDirectory()).toBe(true);
  }, 90_000);
});
