import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process';

export type PrivatePgBouncer = { port: number; url(database: string): string; log(): string; close(): Promise<void> };

/**
 * Debian's pgbouncer of our own, in transaction pooling mode, in front of the PostgreSQL at `upstream`
 * (trust auth, user postgres). Run as the postgres user: pgbouncer refuses to run as root.
 */
export async function startPrivatePgBouncer(upstream: { host: string; port: number }, opts: { poolSize?: number } = {}): Promise<PrivatePgBouncer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cs-pgb-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    `[databases]
* = host=${upstream.host} port=${upstream.port}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${join(dir, 'users.txt')}
pool_mode = transaction
default_pool_size = ${opts.poolSize ?? 4}
max_client_conn = 500
ignore_startup_parameters = extra_float_digits,options
logfile = ${join(dir, 'log')}
pidfile = ${join(dir, 'pid')}
`,
  );
  for (const f of ['', 'users.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, gid);
  const proc: ChildProcess = spawn('runuser', ['-u', 'postgres', '--', '/usr/sbin/pgbouncer', join(dir, 'pgbouncer.ini')], { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (i > 100 || proc.exitCode !== null) throw new Error(`pgbouncer on ${port} did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    log: () => {
      try {
        return readFileSync(join(dir, 'log'), 'utf8');
      } catch {
        return '';
      }
    },
    async close() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
