import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './process';

export type PrivateRedis = {
  url: string;
  port: number;
  /** The server's process id while it runs (benchmarks read its CPU time from /proc). */
  pid(): number | undefined;
  /** A short-lived client (for FLUSHALL, inspection). */
  client(): Redis;
  /** Kill the server; its data is gone (no persistence). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** FLUSHALL, then stop and start again on the same port: everything in Redis is lost. */
  flushAndRestart(downMs?: number): Promise<void>;
  close(): Promise<void>;
};

/**
 * A redis-server of our own on a free port, without persistence, for tests that stop, flush or flood Redis (`args`
 * added to its command line). With `password` it requires it of clients (`requirepass`) and uses it towards its
 * primary (`masterauth`); `url` then carries it.
 */
export async function startPrivateRedis(opts: { args?: string[]; password?: string } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const auth = opts.password ? ['--requirepass', opts.password, '--masterauth', opts.password] : [];
  const url = opts.password ? `redis://:${encodeURIComponent(opts.password)}@127.0.0.1:${port}` : `redis://127.0.0.1:${port}`;
  // Its own working directory: even without persistence a replica writes the primary's RDB there when it
  // syncs (a dump.rdb in the repository's root, once committed by mistake, came from the Sentinel test).
  const dir = mkdtempSync(join(tmpdir(), 'cs-redis-'));
  let proc: ChildProcess | null = null;

  const start = async () => {
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', dir, ...auth, ...(opts.args ?? [])], {
      stdio: 'ignore',
    });
    proc = p;
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    for (let i = 0; ; i++) {
      try {
        await probe.connect();
        await probe.ping();
        break;
      } catch (e) {
        if (i > 100) throw new Error(`private redis on ${port} did not start: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    probe.disconnect();
  };
  const stop = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    await gone;
  };
  const client = () => new Redis(url, { maxRetriesPerRequest: 1 });
  await start();
  return {
    url,
    port,
    pid: () => (proc as ChildProcess | null)?.pid,
    client,
    stop,
    start,
    async flushAndRestart(downMs = 500) {
      const c = client();
      await c.flushall();
      c.disconnect();
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      await start();
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
