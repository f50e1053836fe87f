import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childEnv, freePort, REPO_ROOT } from '../support/process';

// A newcomer's first ten minutes, as the README tells them, on a fresh clone of the committed HEAD (uncommitted
// changes are not in it): npm ci (which builds dist/), npm start, npm run demo in a second terminal, Approve in
// the browser, then `countersign audit verify` and `audit show` in the same setup while the server runs.
// Nothing of the test suite's own set-up is used: no DATABASE_URL, no REDIS_URL, no COUNTERSIGN_FROM_SOURCE.

const run = promisify(execFile);
const clone = mkdtempSync(join(tmpdir(), 'cs-newcomer-'));
let port: number;
let browser: Browser | null = null;
const started: ChildProcess[] = [];

/** The environment of a person's shell: none of the test suite's variables. */
function shellEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = childEnv(extra);
  for (const k of ['DATABASE_URL', 'REDIS_URL', 'COUNTERSIGN_FROM_SOURCE', 'LOG_LEVEL', 'COUNTERSIGN_DATA_DIR', 'PORT']) if (!(k in extra)) delete env[k];
  // Nor npm's own (set when the suite runs under npm/npx): npm_config_local_prefix would point npm at this checkout.
  for (const k of Object.keys(env)) if (/^npm_/i.test(k) || k === 'INIT_CWD') delete env[k];
  return env;
}

/** A command in a terminal of its own (its own process group, so Ctrl-C reaches npm and what it runs). */
function terminal(command: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(command, args, { cwd: clone, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  started.push(child);
  let out = '';
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
  const onData = (c: Buffer) => {
    out += c.toString('utf8');
    for (const w of [...waiters]) {
      const m = w.re.exec(out);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return {
    output: () => out,
    exited,
    waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
      const m = re.exec(out);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${command} ${args.join(' ')} never printed ${re}:\n${out.slice(-3000)}`)), timeoutMs);
        waiters.push({ re, resolve: (x) => (clearTimeout(timer), resolve(x)) });
        void exited.then(({ code, signal }) => reject(new Error(`${command} ${args.join(' ')} exited (${code ?? signal}) before printing ${re}:\n${out.slice(-3000)}`)));
      });
    },
    /** Ctrl-C in that terminal. */
    interrupt: () => process.kill(-child.pid!, 'SIGINT'),
  };
}

beforeAll(async () => {
  const head = (await run('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT })).stdout.trim();
  await run('git', ['clone', '--quiet', REPO_ROOT, clone]);
  await run('git', ['checkout', '--quiet', '--detach', head], { cwd: clone });
  // npm ci as the README says (offline when the npm cache already has every package, as in CI after its own npm ci).
  await run('npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: clone, env: shellEnv(), timeout: 900_000, maxBuffer: 20 * 1024 * 1024 });
  port = await freePort();
}, 960_000);

afterAll(async () => {
  await browser?.close();
  for (const child of started) if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  rmSync(clone, { recursive: true, force: true });
});

describe('the first ten minutes, on a fresh clone', () => {
  it('npm ci built the product: the CLI runs compiled JavaScript and answers --help', async () => {
    expect(existsSync(join(clone, 'dist/cli/main.js'))).toBe(true);
    expect(existsSync(join(clone, 'dist/pgdata-template/PG_VERSION'))).toBe(true);
    const { stdout } = await run('npx', ['countersign', '--help'], { cwd: clone, env: shellEnv() });
    expect(stdout).toContain('countersign serve');
  }, 180_000);

  it('npm start, npm run demo, Approve in the browser, audit verify and audit show while it runs; Ctrl-C stops it cleanly', async () => {
    const server = terminal('npm', ['start'], shellEnv({ PORT: String(port) }));
    await server.waitFor(/countersign listening on (\S+)/, 180_000);
    expect(server.output()).toMatch(/creating the embedded PostgreSQL .*from the template/);
    expect(server.output()).toContain(`open http://127.0.0.1:${port}/sandbox/ to approve`);

    // The second terminal: no PORT given; the demo finds the server on the data directory.
    const demo = terminal('npm', ['run', 'demo'], shellEnv());
    await demo.waitFor(/press Approve \(or Deny\)/, 120_000);
    const pending = (await demo.waitFor(/waiting for a human to decide (act_\w+)/, 30_000))[1]!;
    expect(demo.output()).not.toContain('starting one');

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`http://127.0.0.1:${port}/sandbox/`);
    const card = page.locator('article.message', { hasText: pending });
    await card.waitFor({ timeout: 30_000 });
    await card.getByRole('button', { name: 'Approve', exact: true }).click();
    await card.locator('.thread .message', { hasText: 'Committed' }).waitFor({ timeout: 60_000 });
    await demo.waitFor(/escalated action → committed/, 60_000);
    expect(await demo.exited).toEqual({ code: 0, signal: null });

    // Same setup, server still running: the evidence commands go through it.
    const verify = await run('npx', ['countersign', 'audit', 'verify'], { cwd: clone, env: shellEnv() });
    expect(verify.stdout).toMatch(/chain intact: \d+ events verified/);
    const show = await run('npx', ['countersign', 'audit', 'show', pending], { cwd: clone, env: shellEnv() });
    expect(show.stdout).toContain('asked for external_automation.workflow.create');
    expect(show.stdout).toContain('approved by');

    // Ctrl-C: the terminal's SIGINT reaches npm and the server, and npm forwards its own copy. npm waits for the
    // server to exit, then ends itself by the same signal (as for any interrupted script: the shell says 130).
    server.interrupt();
    const npmExit = await server.exited;
    expect(npmExit.code === 0 || npmExit.signal === 'SIGINT', JSON.stringify(npmExit)).toBe(true);
    expect(server.output()).toContain('shut down cleanly');
    expect(server.output()).not.toMatch(/uncaught exception|error during shutdown/);
    expect(existsSync(join(clone, '.countersign', 'countersign.pid'))).toBe(false);
    expect(existsSync(join(clone, '.countersign', 'admin-channel.json'))).toBe(false);
    // Its private redis-server stopped with it.
    const redisLog = readFileSync(join(clone, '.countersign', 'redis', 'redis.log'), 'utf8');
    expect((redisLog.match(/Ready to accept connections/g) ?? []).length).toBe((redisLog.match(/ready to exit, bye bye/g) ?? []).length);

    // And with nothing running, the same commands open the embedded database themselves.
    const again = await run('npx', ['countersign', 'audit', 'verify'], { cwd: clone, env: shellEnv() });
    expect(again.stdout).toMatch(/chain intact/);
  }, 600_000);
});
