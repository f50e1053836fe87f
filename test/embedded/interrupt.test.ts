import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnv, REPO_ROOT } from '../support/process';

// Ctrl-C at each step of a first start: whatever had started is stopped (the private redis-server above all),
// and the data directory is left so that the next start works. One data directory for the whole story.

const dataDir = mkdtempSync(join(tmpdir(), 'cs-interrupt-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

type Outcome = { code: number | null; signal: NodeJS.Signals | null; output: string };

/**
 * `countersign serve`, sent SIGINT as soon as a line matching `at` is printed; `times` SIGINTs at once is what
 * Ctrl-C under `npm start` delivers (the terminal's, then npm's forwarded copy).
 */
function serveUntil(at: RegExp, env: Record<string, string> = {}, times = 1): Promise<Outcome & { interrupted: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/countersign.js', 'serve'], {
      cwd: REPO_ROOT,
      env: childEnv({ COUNTERSIGN_DATA_DIR: dataDir, PORT: '0', DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'warn', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let interrupted = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve never printed ${at}:\n${output}`));
    }, 150_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (!interrupted && at.test(output)) {
        interrupted = true;
        child.kill('SIGINT');
        // npm forwards its copy a moment later (two sent at once would merge into one pending signal).
        for (let i = 1; i < times; i++) setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill('SIGINT'), 100 * i);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, interrupted });
    });
  });
}

function redisLog(): string {
  const file = join(dataDir, 'redis', 'redis.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

/** What every interruption must leave: no lock, no credential, no half-made database, no Redis running. */
function expectCleanDataDir() {
  expect(existsSync(join(dataDir, 'countersign.pid'))).toBe(false);
  expect(existsSync(join(dataDir, 'admin-channel.json'))).toBe(false);
  expect(existsSync(join(dataDir, 'pgdata.init'))).toBe(false);
  const log = redisLog();
  // Every redis-server started on this directory also shut down.
  expect((log.match(/Ready to accept connections/g) ?? []).length).toBe((log.match(/ready to exit, bye bye/g) ?? []).length);
  const pidFile = join(dataDir, 'redis', 'redis.pid');
  if (existsSync(pidFile)) expect(() => process.kill(Number(readFileSync(pidFile, 'utf8')), 0)).toThrow();
}

describe('interrupting the first start', () => {
  it('during initdb: stops at once, and leaves no half-made database', async () => {
    const r = await serveUntil(/creating the embedded PostgreSQL/, { COUNTERSIGN_PGDATA_TEMPLATE: 'none' });
    expect(r.interrupted).toBe(true);
    expect(r.code, r.output).toBe(130);
    expect(r.output).toContain('start-up interrupted; stopped what had started');
    expectCleanDataDir();
    expect(existsSync(join(dataDir, 'pgdata', 'PG_VERSION'))).toBe(false);
  }, 180_000);

  it('while the private redis-server starts', async () => {
    const r = await serveUntil(/starting a private redis-server/);
    expect(r.code, r.output).toBe(130);
    expectCleanDataDir();
  }, 180_000);

  it('while the API and workers start, with Redis running', async () => {
    const r = await serveUntil(/starting the API/);
    expect(r.code, r.output).toBe(130);
    expect(redisLog()).toContain('Ready to accept connections');
    expectCleanDataDir();
  }, 180_000);

  it('once it listens: a normal shutdown', async () => {
    const r = await serveUntil(/countersign listening on/);
    expect(r.code, `${r.signal}\n${r.output}`).toBe(0);
    // Its workers were closed once connected (src/queue/worker-close.ts): no Redis reply lost to the shutdown.
    // Closing them while connecting lost one in about three such stops; serve tolerates it, this test does not.
    expect(r.output).not.toContain('dropped by the shutdown');
    expectCleanDataDir();
  }, 180_000);

  it('Ctrl-C under npm (two SIGINTs at once), while starting and once listening: the same clean stop', async () => {
    const starting = await serveUntil(/starting the API/, {}, 2);
    expect(starting.code, `${starting.signal}\n${starting.output}`).toBe(130);
    expectCleanDataDir();
    const listening = await serveUntil(/countersign listening on/, { LOG_LEVEL: 'info' }, 2);
    expect(listening.code, `${listening.signal}\n${listening.output}`).toBe(0);
    expect(listening.output).toContain('shut down cleanly');
    expect(listening.output).not.toContain('dropped by the shutdown');
    expectCleanDataDir();
  }, 360_000);

  it('after all that, the next start works on the same data directory', async () => {
    let url = '';
    const r = await new Promise<Outcome>((resolve) => {
      const child = spawn(process.execPath, ['bin/countersign.js', 'serve'], {
        cwd: REPO_ROOT,
        env: childEnv({ COUNTERSIGN_DATA_DIR: dataDir, PORT: '0', DATABASE_URL: '', REDIS_URL: '', LOG_LEVEL: 'warn' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const onData = async (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const m = /countersign listening on (\S+)/.exec(output);
        if (m && !url) {
          url = m[1]!;
          const ready = await fetch(`${url}/readyz`);
          output += `\nreadyz ${ready.status}\n`;
          child.kill('SIGTERM');
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code, signal) => resolve({ code, signal, output }));
    });
    expect(r.output).toContain('readyz 200');
    expect(r.code).toBe(0);
    expectCleanDataDir();
  }, 180_000);
});
