import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import type { DbConnection } from '../db/client';
import { MIGRATIONS_FOLDER } from '../db/migrate';
import * as schema from '../db/schema';

async function openMigrated(dir: string) {
  const client = await PGlite.create({ dataDir: dir });
  try {
    const db = drizzle(client, { schema });
    await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
    return { client, db };
  } catch (e) {
    await client.close().catch(() => undefined);
    throw e;
  }
}

/**
 * The embedded PostgreSQL used when no DATABASE_URL is set: PGlite (PostgreSQL compiled to WebAssembly)
 * keeping its files in `dir`, opened through drizzle's PGlite driver and migrated on open.
 * One process at a time: the caller holds the data directory's lock (`claimDataDir`).
 */
export async function openEmbeddedDatabase(dir: string): Promise<DbConnection> {
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    // First start: build the cluster beside it and move it into place only when complete, so a start
    // interrupted during initdb leaves nothing half-made behind.
    const building = `${dir}.init`;
    rmSync(building, { recursive: true, force: true });
    mkdirSync(building, { recursive: true });
    const fresh = await openMigrated(building);
    await fresh.client.close();
    rmSync(dir, { recursive: true, force: true });
    renameSync(building, dir);
  }
  const { client, db } = await openMigrated(dir);
  return { db, close: () => client.close() };
}
