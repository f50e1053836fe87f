import { drizzle } from 'drizzle-orm/postgres-js';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import * as schema from './schema';
import { withoutPipelining } from './no-pipelining';
import { reconnectBackoff, withWaitBudget } from './wait-budget';

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

/**
 * `waitBudgetMs` bounds how long a query or transaction waits for a connection (src/db/wait-budget.ts): the
 * server's API passes COUNTERSIGN_DEPENDENCY_WAIT_MS so requests are answered 503 instead of hanging while
 * PostgreSQL is down. Without it (the CLI, migrations) queries wait as long as the driver does.
 */
export function connectDb(
  url: string,
  opts: { max?: number; applicationName?: string; waitBudgetMs?: number; preparedStatements?: boolean; pipelining?: boolean } = {},
): DbHandle {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    // false: every statement unnamed, even those drizzle and execNamed name (PgBouncer transaction mode < 1.21).
    prepare: opts.preparedStatements ?? true,
    onnotice: () => {},
    connection: { application_name: opts.applicationName ?? 'countersign' },
    // A request stops waiting for a connection after its wait budget (wait-budget.ts) whatever this says;
    // this only bounds the attempt itself, generously, so a busy host still connects.
    connect_timeout: 5,
    backoff: reconnectBackoff,
  });
  // pipelining false: one statement per connection at a time (no-pipelining.ts; PgBouncer < 1.21 in transaction mode).
  const client = opts.pipelining === false ? withoutPipelining(sql, opts.max ?? 10) : sql;
  const db = drizzle(opts.waitBudgetMs ? withWaitBudget(client, opts.waitBudgetMs) : client, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
