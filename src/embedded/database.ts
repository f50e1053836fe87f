import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import type { DbConnection } from '../db/client';
import { markSingleConnection } from '../db/exec';
import { MIGRATIONS_FOLDER } from '../db/migrate';
import * as schema from '../db/schema';

/**
 * The embedded PostgreSQL used when no DATABASE_URL is set: PGlite (PostgreSQL compiled to WebAssembly)
 * keeping its files in `dir`, opened through drizzle's PGlite driver and migrated on open.
 * One process at a time: the caller holds the data directory's lock (`claimDataDir`).
 */
export async function openEmbeddedDatabase(dir: string): Promise<DbConnection> {
  mkdirSync(dir, { recursive: true });
  const client = await PGlite.create({ dataDir: dir });
  try {
    const db = drizzle(client, { schema });
    await migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
    markSingleConnection(db);
    return { db, close: () => client.close() };
  } catch (e) {
    await client.close().catch(() => undefined);
    throw e;
  }
}
