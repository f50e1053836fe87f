import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { EmbeddedError } from './data-dir';

export const NO_REDIS_MESSAGE =
  'redis-server was not found on the PATH: install it (apt-get install redis-server, or brew install redis) or set REDIS_URL to a Redis you run';

export type PrivateRedis = { url: string; port: number; pid: number; stop(): Promise<void> };

/** Finds an executable on a PATH string, like `command -v`. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      /* not here */
    }
  }
  return null;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

/** A redis-server left running by a Countersign that was killed: stop it before starting another on the same files. */
async function stopLeftover(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return; // not running (or no /proc: redis refuses a second AOF writer by itself)
  }
  if (!cmdline.includes('redis-server')) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts a private redis-server from the PATH on a free loopback port, keeping its append-only file in
 * `dir` so queued work survives a restart. It is stopped with the app (SIGTERM: Redis flushes the AOF).
 */
export async function startPrivateRedis(dir: string, opts: { path?: string } = {}): Promise<PrivateRedis> {
  const bin = findOnPath('redis-server', opts.path ?? process.env.PATH);
  if (!bin) throw new EmbeddedError(NO_REDIS_MESSAGE);
  const absDir = resolve(dir);
  mkdirSync(absDir, { recursive: true });
  const pidFile = join(absDir, 'redis.pid');
  await stopLeftover(pidFile);
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(
      bin,
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--protected-mode', 'yes',
        '--dir', absDir,
        '--pidfile', pidFile,
        '--appendonly', 'yes',
        '--appendfsync', 'everysec',
        '--save', '',
        // BullMQ needs every key kept: an evicted job key would lose work.
        '--maxmemory-policy', 'noeviction',
        '--daemonize', 'no',
        '--logfile', join(absDir, 'redis.log'),
      ],
      // Its own process group: Ctrl-C in a terminal must stop the app first, which then stops Redis after draining.
      { stdio: 'ignore', detached: true },
    );
    const ready = await waitReady(child, port);
    if (ready === true) return handle(child, port);
    lastError = ready;
    child.kill('SIGKILL');
  }
  throw new EmbeddedError(`could not start redis-server (${lastError}); see ${join(absDir, 'redis.log')} or set REDIS_URL`);
}

async function waitReady(child: ChildProcess, port: number): Promise<true | string> {
  let exited: string | null = null;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  child.once('error', (e) => {
    exited = e.message;
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (exited) return exited;
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      // While the AOF is loading Redis answers LOADING; wait for a real PONG.
      if ((await probe.ping()) === 'PONG') return true;
    } catch {
      /* not up yet */
    } finally {
      probe.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return 'did not answer within 10 s';
}

function handle(child: ChildProcess, port: number): PrivateRedis {
  const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.once('exit', () => r())));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
