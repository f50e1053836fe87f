import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import type { DbConnection } from '../db/client';
import { MIGRATIONS_FOLDER } from '../db/migrate';
import * as schema from '../db/schema';

/**
 * A migrated, empty embedded database made once by `npm run build` (so by `npm ci`): PGlite's initdb takes
 * 10–35 s, copying its result well under one. Same path from src/embedded and dist/embedded.
 */
export const TEMPLATE_DIR = fileURLToPath(new URL('../../dist/pgdata-template', import.meta.url));

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

export function isInitialised(dir: string): boolean {
  return existsSync(join(dir, 'PG_VERSION'));
}

/** Where a first start builds the cluster before moving it into place (removed if the start is interrupted). */
export const buildingDir = (dir: string) => `${dir}.init`;

/** Makes the template: a fresh cluster with every migration applied. */
export async function buildTemplate(dir = TEMPLATE_DIR): Promise<void> {
  const building = buildingDir(dir);
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building, { recursive: true });
  const fresh = await openMigrated(building);
  await fresh.client.close();
  rmSync(dir, { recursive: true, force: true });
  renameSync(building, dir);
}

/**
 * The embedded PostgreSQL used when no DATABASE_URL is set: PGlite (PostgreSQL compiled to WebAssembly)
 * keeping its files in `dir`, opened through drizzle's PGlite driver and migrated on open. A first start
 * copies the template when there is one (migrations newer than it are applied on open) and runs initdb
 * otherwise. One process at a time: the caller holds the data directory's lock (`claimDataDir`).
 */
export async function openEmbeddedDatabase(dir: string, opts: { template?: string | null; signal?: AbortSignal } = {}): Promise<DbConnection> {
  if (!isInitialised(dir)) {
    // Built beside it and moved into place only when complete, so a start interrupted here leaves nothing
    // half-made behind.
    const template = opts.template === undefined ? TEMPLATE_DIR : opts.template;
    const building = buildingDir(dir);
    rmSync(building, { recursive: true, force: true });
    if (template && isInitialised(template)) {
      cpSync(template, building, { recursive: true });
    } else {
      mkdirSync(building, { recursive: true });
      const fresh = await openMigrated(building);
      await fresh.client.close();
    }
    // A start interrupted during initdb has given up on it: the cluster is not moved into place.
    if (opts.signal?.aborted) {
      rmSync(building, { recursive: true, force: true });
      throw new Error('start-up interrupted');
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(building, dir);
  }
  const { client, db } = await openMigrated(dir);
  if (opts.signal?.aborted) {
    await client.close();
    throw new Error('start-up interrupted');
  }
  return { db, close: () => client.close() };
}
