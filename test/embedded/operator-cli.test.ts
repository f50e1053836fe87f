import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_FILE } from '../../src/cli/admin-channel';
import type { CliIo } from '../../src/cli/io';
import { runCli } from '../../src/cli/main';
import { runDemo } from '../../src/cli/demo';
import { parseEnv } from '../../src/config/env';
import { REPO_ROOT, startServe, type ServeProcess } from '../support/process';

// The operator CLI in the default setup (no DATABASE_URL): through the running server's admin channel while it
// holds the embedded database, on the database itself once it has stopped.

const dataDir = mkdtempSync(join(tmpdir(), 'cs-opcli-'));
const saved = { DATABASE_URL: process.env.DATABASE_URL, COUNTERSIGN_DATA_DIR: process.env.COUNTERSIGN_DATA_DIR, COUNTERSIGN_OPERATOR: process.env.COUNTERSIGN_OPERATOR };
let server: ServeProcess;

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  // As a terminal shows it: every write ends its line.
  const line = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);
  const io: CliIo = { stdout: (s) => void out.push(line(s)), stderr: (s) => void err.push(line(s)), readStdin: async () => '' };
  const code = await runCli(argv, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

beforeAll(async () => {
  delete process.env.DATABASE_URL;
  process.env.COUNTERSIGN_DATA_DIR = dataDir;
  process.env.COUNTERSIGN_OPERATOR = 'ada';
  server = await startServe('embedded', [], { COUNTERSIGN_DATA_DIR: dataDir, PORT: '0', DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'warn' }, 300_000);
}, 320_000);
afterAll(async () => {
  await server?.stop();
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
  else process.env[k] = v;
  rmSync(dataDir, { recursive: true, force: true });
});

describe('operator commands while a server holds the embedded database', () => {
  it('run in the server, as the operator who asked, with their output and exit code', async () => {
    const created = await cli('agents', 'create', 'ops-bot', '--scopes', 'ops.*', '--owner', 'sre');
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/created agent ops-bot .*\ntoken \(shown once, store it now\): csa_/);
    const list = await cli('agents', 'list');
    expect(list.stdout).toMatch(/^ops-bot\tagt_\w+\tactive\towner=sre\tscopes=ops\.\*$/m);
    const set = await cli('agents', 'set', 'ops-bot', '--rate-limit', '30');
    expect(set.stdout).toContain('rate_limit=30/min');
    const rotated = await cli('keys', 'rotate');
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^new signing key ed25519-/);
    const verify = await cli('audit', 'verify');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toContain('chain intact');
    // The evidence names the operator of the CLI, not the server's user.
    const agentId = /^ops-bot\t(agt_\w+)/m.exec(list.stdout)![1];
    const exported = await cli('audit', 'export', '--since', '1h', '--json');
    expect(exported.code).toBe(0);
    const lines = exported.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    expect(lines.find((e) => e.type === 'agent.created' && e.agent_id === agentId)?.actor).toBe('admin:cli:ada');
  });

  it("the review, matrix, config and rollout commands run there too; relative paths are the operator's", async () => {
    const cwd = process.cwd();
    const work = mkdtempSync(join(tmpdir(), 'cs-opcli-cwd-'));
    process.chdir(work);
    try {
      const review = await cli('review', '--since', '1d', '--out', 'review-out', '--policies', join(REPO_ROOT, 'policies'));
      expect(review.stderr).toBe('');
      expect(review.code).toBe(0);
      // Written by the server, where the operator asked for it (not in the server's working directory).
      expect(existsSync(join(work, 'review-out', 'review.md'))).toBe(true);
      expect(readFileSync(join(work, 'review-out', 'review.md'), 'utf8')).toContain('ops-bot');
      const matrix = await cli('matrix', '--policies', join(REPO_ROOT, 'policies'), '--out', 'matrix.csv');
      expect(matrix.code, matrix.stderr).toBe(0);
      // From the configuration the server runs with: the sandbox's executor, its demo agent.
      const csv = readFileSync(join(work, 'matrix.csv'), 'utf8');
      expect(csv).toMatch(/^external_automation\.workflow\.create,.*,sandbox,.*demo-agent/m);
      // The sandbox runs on its own configuration, not a countersign.yaml: there is no version log to show.
      const log = await cli('config', 'log');
      expect(log.code, log.stderr).toBe(0);
      const rollout = await cli('policy', 'rollout', 'status', '--policies', join(REPO_ROOT, 'policies'));
      expect(rollout.stderr).toBe('');
      expect(rollout.code, rollout.stdout).toBe(0);
    } finally {
      process.chdir(cwd);
      rmSync(work, { recursive: true, force: true });
    }
  });

  it('a failing command keeps its exit code and its message on stderr', async () => {
    const missing = await cli('agents', 'set', 'nobody', '--owner', 'x');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('nobody');
    const show = await cli('audit', 'show', 'act_doesnotexist');
    expect(show.code).toBe(1);
    expect(show.stdout).toContain('no events for act_doesnotexist');
  });

  it('the channel is on loopback, its credential readable by the owner only, and it refuses anything else', async () => {
    const file = join(dataDir, CHANNEL_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const channel = JSON.parse(readFileSync(file, 'utf8')) as { url: string; token: string; pid: number };
    expect(channel.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(channel.pid).toBe(server.pid);
    const body = JSON.stringify({ argv: ['agents', 'list'], operator: 'mallory' });
    const noAuth = await fetch(`${channel.url}/run`, { method: 'POST', body });
    expect(noAuth.status).toBe(401);
    const wrong = await fetch(`${channel.url}/run`, { method: 'POST', body, headers: { authorization: `Bearer ${'x'.repeat(channel.token.length)}` } });
    expect(wrong.status).toBe(401);
    const auth = { authorization: `Bearer ${channel.token}` };
    for (const bad of [{ argv: ['serve'], operator: 'a' }, { argv: ['migrate'], operator: 'a' }, { argv: [], operator: 'a' }, { argv: ['agents', 'list'] }, 'not json']) {
      const res = await fetch(`${channel.url}/run`, { method: 'POST', headers: auth, body: typeof bad === 'string' ? bad : JSON.stringify(bad) });
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    const ok = await fetch(`${channel.url}/run`, { method: 'POST', headers: auth, body });
    expect(ok.headers.get('content-type')).toBe('application/x-ndjson');
    expect((await ok.text()).trim().split('\n').at(-1)).toBe('{"exit":0}');
  });

  it('npm run demo finds this server by its data directory, whatever PORT says, instead of starting another', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), readStdin: async () => '' };
    const code = await runDemo(['--wait', '0'], io, parseEnv({ COUNTERSIGN_DATA_DIR: dataDir, PORT: '9' }));
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(out[0]).toBe(`found the Countersign running on ${dataDir} at ${server.url}`);
    expect(out.join('\n')).toMatch(/escalated \(creates a workflow\)[\s\S]*→ needs approval/);
    expect(out.join('\n')).not.toContain('starting one');
  });

  it('when the holder is not ready for commands (starting or stopping), says so and what to do', async () => {
    const file = join(dataDir, CHANNEL_FILE);
    const kept = readFileSync(file, 'utf8');
    rmSync(file);
    try {
      const r = await cli('agents', 'list');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`the Countersign running as pid ${server.pid} holds ${dataDir} but is not ready for operator commands yet`);
      expect(r.stderr).toContain('try again in a moment');
    } finally {
      writeFileSync(file, kept, { mode: 0o600 });
    }
  });
});

describe('operator commands with no server running', () => {
  it('open the embedded database themselves, and leave the data directory free', async () => {
    await server.stop();
    expect(existsSync(join(dataDir, CHANNEL_FILE))).toBe(false);
    expect(existsSync(join(dataDir, 'countersign.pid'))).toBe(false);
    const list = await cli('agents', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ops-bot\t/m);
    const verify = await cli('audit', 'verify');
    expect(verify.stdout).toContain('chain intact');
    const replay = await cli('policy', 'replay', 'policies', '--since', '1d');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/against \d+ decision\(s\)/);
    expect(existsSync(join(dataDir, 'countersign.pid'))).toBe(false);
  }, 120_000);

  it("the start-up warning's advice works here: restart with a passphrase, then `countersign keys rotate`", async () => {
    const passphrase = 'p'.repeat(40);
    const again = await startServe('embedded-again', [], { COUNTERSIGN_DATA_DIR: dataDir, PORT: '0', DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'warn', COUNTERSIGN_RECEIPT_KEY_PASSPHRASE: passphrase }, 300_000);
    try {
      // Without a passphrase the first start said to restart with one; with it, this start says to rotate.
      expect(server.output()).toContain('the receipt signing key is stored unencrypted: restart with COUNTERSIGN_RECEIPT_KEY_PASSPHRASE set, then run `countersign keys rotate`');
      expect(again.output()).toContain('the receipt signing key is stored unencrypted: run `countersign keys rotate` to replace it with an encrypted one');
      // The operator's shell need not know the passphrase: the server rotates with its own.
      const rotated = await cli('keys', 'rotate');
      expect(rotated.code, `${rotated.stderr}\n${again.output().slice(-3000)}`).toBe(0);
      expect(rotated.stdout).toMatch(/^new signing key ed25519-\w+ \(encrypted\)/);
      const list = await cli('keys', 'list');
      expect(list.stdout).toMatch(/^ed25519-\w+\tsigning\tencrypted\t/m);
    } finally {
      await again.stop();
    }
  }, 400_000);

  it('without any database, say how to get one', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'cs-opcli-empty-'));
    process.env.COUNTERSIGN_DATA_DIR = empty;
    try {
      await expect(cli('agents', 'list')).rejects.toThrow(/DATABASE_URL is not set and .* holds no embedded database yet\. Start Countersign once \(npm start\)/);
      expect(existsSync(join(empty, 'pgdata'))).toBe(false);
    } finally {
      process.env.COUNTERSIGN_DATA_DIR = dataDir;
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
