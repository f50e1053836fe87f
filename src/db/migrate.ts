import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import postgres from 'postgres';

export const MIGRATIONS_FOLDER = resolve(dirname(fileURLToPath(import.meta.url)), '../../drizzle');

/**
 * Applies the committed migrations, with drizzle's bookkeeping (`drizzle.__drizzle_migrations`: hash and
 * folder time per migration), in one transaction that first takes a transaction-scoped advisory lock, so
 * concurrent runs from several instances wait for each other and the second finds nothing to do.
 *
 * One transaction rather than drizzle's migrator under a session lock: behind PgBouncer in transaction mode
 * a session lock and its unlock can land on different server connections, and the lock then stays held on a
 * pooled connection, so the next start's migration waits for it until PgBouncer closes that connection.
 * Unnamed statements (`prepare: false`) for the same reason.
 */
export async function runMigrations(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, prepare: false });
  try {
    await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(727274)`;
      await tx.unsafe('create schema if not exists drizzle');
      await tx.unsafe('create table if not exists drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)');
      const [last] = await tx<{ created_at: string }[]>`select created_at from drizzle.__drizzle_migrations order by created_at desc limit 1`;
      for (const migration of readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER })) {
        if (last && Number(last.created_at) >= migration.folderMillis) continue;
        for (const statement of migration.sql) await tx.unsafe(statement);
        await tx`insert into drizzle.__drizzle_migrations (hash, created_at) values (${migration.hash}, ${migration.folderMillis})`;
      }
    });
  } finally {
    await sql.end({ timeout: 5 });
  }
}
