import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './process';

export type PrivatePgBouncer = {
  port: number;
  url(database: string): string;
  /** An admin console command (`SHOW POOLS`, …) through psql, as rows of column → value. */
  show(what: string): Array<Record<string, string>>;
  log(): string;
  close(): Promise<void>;
};

/** Where Debian's pgbouncer package puts the binary (not on root's PATH everywhere). */
export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';

/**
 * Debian's pgbouncer of our own, in transaction pooling mode, in front of the PostgreSQL at `upstream`
 * (trust auth, user postgres), with `settings` added to its [pgbouncer] section. Run as the postgres user:
 * pgbouncer refuses to run as root.
 */
export async function startPrivatePgBouncer(
  upstream: { host: string; port: number },
  opts: { poolSize?: number; settings?: Record<string, string | number> } = {},
): Promise<PrivatePgBouncer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cs-pgb-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
  const settings: Record<string, string | number> = {
    listen_addr: '127.0.0.1',
    listen_port: port,
    unix_socket_dir: '',
    auth_type: 'trust',
    auth_file: join(dir, 'users.txt'),
    admin_users: 'postgres',
    pool_mode: 'transaction',
    default_pool_size: opts.poolSize ?? 4,
    max_client_conn: 500,
    ignore_startup_parameters: 'extra_float_digits,options',
    logfile: join(dir, 'log'),
    pidfile: join(dir, 'pid'),
    ...opts.settings,
  };
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    `[databases]\n* = host=${upstream.host} port=${upstream.port}\n[pgbouncer]\n${Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n')}\n`,
  );
  for (const f of ['', 'users.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, gid);
  // Started as the postgres user directly (not through runuser), so this process is its parent and reaps it.
  const proc: ChildProcess = spawn(PGBOUNCER_BIN, [join(dir, 'pgbouncer.ini')], { uid, gid, stdio: 'ignore' });
  const log = () => {
    try {
      return readFileSync(join(dir, 'log'), 'utf8');
    } catch {
      return '';
    }
  };
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (i > 200 || proc.exitCode !== null) {
      proc.kill('SIGKILL');
      throw new Error(`pgbouncer on ${port} did not start:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    show(what) {
      const out = execFileSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'pgbouncer', '-A', '-F', '\t', '-P', 'footer=off', '-c', `SHOW ${what}`], {
        timeout: 10_000,
      }).toString();
      const [head, ...lines] = out.trim().split('\n');
      const cols = head!.split('\t');
      return lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i]!, v])));
    },
    log,
    async close() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise<void>((r) => proc.once('exit', () => r()));
        proc.kill('SIGTERM');
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
