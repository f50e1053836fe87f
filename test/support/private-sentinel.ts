import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './process';
import { startPrivateRedis, type PrivateRedis } from './private-redis';

export type SentinelGroup = {
  /** The name the sentinels monitor (REDIS_SENTINEL_NAME). */
  name: string;
  sentinels: Array<{ host: string; port: number }>;
  /** REDIS_SENTINELS for Countersign. */
  sentinelsEnv: string;
  /** The servers: the first starts as the primary, the others as its replicas. */
  servers: PrivateRedis[];
  /** The port of the server the sentinels name as primary now. */
  primaryPort(): Promise<number>;
  close(): Promise<void>;
};

/**
 * A Redis primary, `replicas` replicas of it and `sentinels` sentinels (quorum: a majority) of our own, on
 * free ports, without persistence, for tests that kill the primary. Sentinels run as `redis-server
 * <conf> --sentinel` (the same binary as Debian's redis-sentinel package), with a 1 s down-after so a
 * failover takes seconds. Resolves once every sentinel knows the replicas and the other sentinels.
 */
export async function startSentinelGroup(
  opts: {
    replicas?: number;
    sentinels?: number;
    name?: string;
    /** The servers' password (REDIS_PASSWORD): required of clients, used by replicas and by the sentinels towards them. */
    password?: string;
    /** The sentinels' own password (REDIS_SENTINEL_PASSWORD), required of clients and used between sentinels. */
    sentinelPassword?: string;
  } = {},
): Promise<SentinelGroup> {
  const name = opts.name ?? 'cs-primary';
  const password = opts.password;
  const primary = await startPrivateRedis({ password });
  const servers = [primary];
  for (let i = 0; i < (opts.replicas ?? 1); i++) servers.push(await startPrivateRedis({ password, args: ['--replicaof', '127.0.0.1', String(primary.port)] }));
  const count = opts.sentinels ?? 3;
  const quorum = Math.floor(count / 2) + 1;
  const dir = mkdtempSync(join(tmpdir(), 'cs-sentinel-'));
  const procs: ChildProcess[] = [];
  const sentinels: Array<{ host: string; port: number }> = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const conf = join(dir, `sentinel-${i}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        'protected-mode no',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} ${quorum}`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 10000`,
        `sentinel parallel-syncs ${name} 1`,
        ...(password ? [`sentinel auth-pass ${name} ${password}`] : []),
        ...(opts.sentinelPassword ? [`requirepass ${opts.sentinelPassword}`, `sentinel sentinel-pass ${opts.sentinelPassword}`] : []),
        '',
      ].join('\n'),
    );
    procs.push(spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }));
    sentinels.push({ host: '127.0.0.1', port });
  }
  const ask = async <T>(port: number, ...args: string[]): Promise<T> => {
    const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, ...(opts.sentinelPassword ? { password: opts.sentinelPassword } : {}) });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return (await c.call('SENTINEL', ...args)) as T;
    } finally {
      c.disconnect();
    }
  };
  const close = async () => {
    await Promise.all(
      procs.map((p) =>
        p.exitCode !== null || p.signalCode !== null ? undefined : new Promise<void>((r) => (p.once('exit', () => r()), p.kill('SIGKILL'))),
      ),
    );
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 30_000;
    for (;;) {
      // What each sentinel and replica says, kept for the error: a group that does not form must say why.
      const seen = await Promise.all(
        sentinels.map(async (s, i) => {
          if (procs[i]!.exitCode !== null) return { ok: false, said: `sentinel ${s.port} exited with ${procs[i]!.exitCode}` };
          try {
            const replicas = await ask<unknown[]>(s.port, 'REPLICAS', name);
            const others = await ask<unknown[]>(s.port, 'SENTINELS', name);
            return { ok: replicas.length === servers.length - 1 && others.length === count - 1, said: `sentinel ${s.port}: ${replicas.length} replicas, ${others.length} other sentinels` };
          } catch (e) {
            return { ok: false, said: `sentinel ${s.port}: ${(e as Error).message}` };
          }
        }),
      );
      const synced = await Promise.all(
        servers.slice(1).map(async (r) => {
          const c = r.client();
          try {
            const link = /master_link_status:(\w+)/.exec(await c.info('replication'))?.[1] ?? 'none';
            return { ok: link === 'up', said: `replica ${r.port}: link ${link}` };
          } catch (e) {
            return { ok: false, said: `replica ${r.port}: ${(e as Error).message}` };
          } finally {
            c.disconnect();
          }
        }),
      );
      if ([...seen, ...synced].every((x) => x.ok)) break;
      if (Date.now() > deadline) throw new Error(`the sentinel group did not form within 30 s: ${[...seen, ...synced].map((x) => x.said).join('; ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (e) {
    await close();
    throw e;
  }
  return {
    name,
    sentinels,
    sentinelsEnv: sentinels.map((s) => `${s.host}:${s.port}`).join(','),
    servers,
    async primaryPort() {
      for (const s of sentinels) {
        try {
          const [, port] = await ask<[string, string]>(s.port, 'GET-MASTER-ADDR-BY-NAME', name);
          return Number(port);
        } catch {
          // ask the next one
        }
      }
      throw new Error('no sentinel answered');
    },
    close,
  };
}
