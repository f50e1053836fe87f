import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import postgres from 'postgres';
import { MIGRATIONS_FOLDER, runMigrations } from '../../src/db/migrate';
import { connectDb, type DbHandle } from '../../src/db/client';

/** The machine's shared PostgreSQL (trust auth). Tests only ever create and drop their own databases in it. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function databaseUrl(name: string, base = ADMIN_URL): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Template name derived from the migrations, so a schema change builds a fresh template. */
export function templateName(): string {
  const h = createHash('sha256');
  for (const f of readdirSync(MIGRATIONS_FOLDER).filter((f) => f.endsWith('.sql')).sort()) {
    h.update(f).update(readFileSync(join(MIGRATIONS_FOLDER, f)));
  }
  return `cs_tpl_${h.digest('hex').slice(0, 16)}`;
}

/** Creates (once, under an advisory lock) a migrated template database that test databases are cloned from. */
export async function ensureTemplate(): Promise<string> {
  const name = templateName();
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin`select pg_advisory_lock(727290)`;
    const [exists] = await admin`select 1 from pg_database where datname = ${name}`;
    if (!exists) {
      const building = `${name}_build_${randomBytes(3).toString('hex')}`;
      await admin.unsafe(`create database "${building}"`);
      await runMigrations(databaseUrl(building));
      await admin.unsafe(`alter database "${building}" rename to "${name}"`);
    }
    await admin`select pg_advisory_unlock(727290)`;
  } finally {
    await admin.end({ timeout: 5 });
  }
  return name;
}

export type TestDb = DbHandle & { url: string; name: string; drop(): Promise<void> };

/** A private database for one test file, cloned from the migrated template in a few milliseconds. */
export async function createTestDb(opts: { max?: number } = {}): Promise<TestDb> {
  const template = templateName();
  const name = `cs_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.unsafe(`create database "${name}" template "${template}"`);
        break;
      } catch (e) {
        // Another file cloning the template at the same instant holds it briefly.
        if (attempt < 20 && /being accessed by other users/.test((e as Error).message)) {
          await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
          continue;
        }
        throw e;
      }
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = databaseUrl(name);
  const handle = connectDb(url, { max: opts.max ?? 10, applicationName: 'countersign-test' });
  return {
    ...handle,
    url,
    name,
    async drop() {
      await handle.close();
      const a = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists "${name}" with (force)`);
      } finally {
        await a.end({ timeout: 5 });
      }
    },
  };
}

const STALE_AFTER_MS = 6 * 3600_000;

/**
 * Drops what earlier, interrupted runs left behind on the shared server: test databases older than six hours
 * (their names carry their creation time) and templates of older migration sets. Never forced: a database
 * someone is still connected to is left alone.
 */
export async function dropStaleTestDatabases(): Promise<string[]> {
  const current = templateName();
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  const dropped: string[] = [];
  try {
    // A template's age is its directory's; another checkout's run may still be using a young one.
    // missing_ok: a database another run drops meanwhile has no directory any more (and is not ours).
    const rows = await admin<{ datname: string; age_ms: number }[]>`
      select datname, extract(epoch from now() - (pg_stat_file('base/' || oid || '/PG_VERSION', true)).modification) * 1000 as age_ms
      from pg_database where datname like 'cs\\_t\\_%' or datname like 'cs\\_tpl\\_%'`;
    for (const { datname, age_ms } of rows) {
      const created = /^cs_t_([0-9a-z]+)_/.exec(datname);
      const stale = created
        ? Date.now() - parseInt(created[1]!, 36) > STALE_AFTER_MS
        : /^cs_tpl_[0-9a-f]{16}$/.test(datname) && datname !== current && Number(age_ms) > STALE_AFTER_MS;
      if (!stale) continue;
      try {
        await admin.unsafe(`drop database if exists "${datname}"`);
        dropped.push(datname);
      } catch {
        // In use by a run that is still going: not ours to drop.
      }
    }
  } finally {
    await admin.end({ timeout: 5 });
  }
  return dropped;
}
