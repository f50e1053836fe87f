import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { childEnv, REPO_ROOT } from '../support/process';

async function capture(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), readStdin: async () => '' };
  const code = await runCli(argv, io);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

// Every command and subcommand the top-level help lists; each answers --help on stdout with exit 0.
const COMMANDS: string[][] = [
  ['serve'],
  ['demo'],
  ['migrate'],
  ['agents'],
  ['agents', 'create'],
  ['agents', 'list'],
  ['agents', 'set'],
  ['agents', 'rotate'],
  ['agents', 'revoke'],
  ['kill'],
  ['resume'],
  ['admins'],
  ['admins', 'create'],
  ['admins', 'list'],
  ['admins', 'revoke'],
  ['policy'],
  ['policy', 'eval'],
  ['policy', 'explain'],
  ['policy', 'test'],
  ['policy', 'lint'],
  ['policy', 'replay'],
  ['audit'],
  ['audit', 'verify'],
  ['audit', 'show'],
  ['audit', 'export'],
  ['audit', 'verify-receipt'],
  ['policy', 'rollout'],
  ['policy', 'rollout', 'status'],
  ['policy', 'rollout', 'promote'],
  ['policy', 'rollout', 'rollback'],
  ['audit', 'anchor'],
  ['audit', 'verify-report'],
  ['keys'],
  ['keys', 'list'],
  ['keys', 'rotate'],
  ['review'],
  ['matrix'],
  ['drill'],
  ['config'],
  ['config', 'check'],
  ['config', 'log'],
];

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('countersign --help', () => {
  it('lists every command, agents set included, and exits 0', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const r = await capture([flag]);
      expect(r.code).toBe(0);
      for (const [command] of COMMANDS) expect(r.stdout).toContain(`countersign ${command}`);
      expect(r.stdout).toContain('create|list|set|rotate|revoke');
    }
  });

  it.each(COMMANDS.map((c) => [c.join(' '), c] as const))('%s --help prints its usage on stdout and exits 0', async (_name, words) => {
    const r = await capture([...words, '--help']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage/);
    expect(r.stdout).toContain(`countersign ${words.join(' ')}`);
  });

  it('-h anywhere after the command is help too, and a subcommand gets its own line', async () => {
    const r = await capture(['agents', 'set', 'bot', '-h']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('countersign agents set NAME');
    expect(r.stdout).not.toContain('agents create');
  });

  it('no command is a usage error (exit 2, usage on stderr); an unknown one says where the list is', async () => {
    const none = await capture([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('usage');
    const bad = await capture(['bogus', '--help']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown command "bogus" (countersign --help lists them)');
  });

  it('serve --help starts nothing: no data directory, no database, no Redis', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cs-help-'));
    dirs.push(dataDir);
    const { stdout } = await promisify(execFile)(process.execPath, ['bin/countersign.js', 'serve', '--help'], {
      cwd: REPO_ROOT,
      env: childEnv({ COUNTERSIGN_DATA_DIR: dataDir, PORT: '0' }),
      timeout: 60_000,
    });
    expect(stdout).toContain('usage: countersign serve');
    expect(readdirSync(dataDir)).toEqual([]);
  });
});
