import { drizzle } from 'drizzle-orm/postgres-js';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import * as schema from './schema';

/**
 * Any drizzle PostgreSQL database over our schema: postgres.js in production, PGlite when embedded
 * (`src/embedded`). Raw `execute()` results differ between the two drivers: read them with `execRows`.
 */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction handle; queries take `Db | Tx` first so they compose into transactions. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
export type DbOrTx = Db | Tx;

/** An open database, whichever driver. */
export type DbConnection = { db: Db; close(): Promise<void> };
export type DbHandle = DbConnection & { sql: postgres.Sql };

export function connectDb(url: string, opts: { max?: number; applicationName?: string } = {}): DbHandle {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    onnotice: () => {},
    connection: { application_name: opts.applicationName ?? 'countersign' },
    // Fail fast while PostgreSQL is down so the intake can answer 503 instead of hanging.
    connect_timeout: 5,
  });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
