import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort } from './process';

export type PrivatePostgres = {
  port: number;
  /** URL of a database on this server (trust auth, user postgres). */
  url(database?: string): string;
  createDatabase(name: string): Promise<string>;
  stop(): void;
  start(): void;
  close(): void;
};

const BIN = '/usr/lib/postgresql/15/bin';
const asPostgres = (cmd: string, args: string[]) =>
  execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args], { stdio: 'pipe', timeout: 60_000 });

/**
 * A PostgreSQL server of our own (initdb + pg_ctl in a temp dir, run as the postgres user since tests run
 * as root), for tests that stop or restart the database. fsync is off: these tests are about availability.
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'cs-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const start = () =>
    asPostgres('pg_ctl', [
      '-D', data, '-l', join(dir, 'log'), '-w', '-t', '30',
      '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
      'start',
    ]);
  const stop = () => {
    try {
      asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
    } catch {
      // already stopped
    }
  };
  start();
  const url = (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    url,
    async createDatabase(name) {
      const admin = postgres(url(), { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`create database "${name}"`);
      } finally {
        await admin.end({ timeout: 5 });
      }
      return url(name);
    },
    stop,
    start,
    close() {
      stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
