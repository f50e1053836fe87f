import { sql, type SQLWrapper } from 'drizzle-orm';
import type { PgDialect, PgSession } from 'drizzle-orm/pg-core';
import type { DbOrTx, Tx } from './client';

/** A fixed statement: its text never changes, only its parameters (`$1`, `$2`, …). */
export type NamedStatement = { name: string; text: string };

type Internals = { session: PgSession; dialect: PgDialect };

/**
 * Runs a fixed raw statement as a prepared statement, on `db` or inside a transaction, and returns its rows
 * (postgres.js and PGlite alike).
 *
 * Why: postgres.js runs an unnamed statement with parameters (every `db.execute(sql…)`) as two round trips,
 * Parse + Describe first, then Bind + Execute. A prepared one is described once per connection and then
 * costs one round trip. On a hot path of short transactions that halves the statements' round trips. Only
 * for statements whose text is fixed: each distinct text stays prepared on every connection that ran it.
 */
export async function execNamed<T extends Record<string, unknown>>(db: DbOrTx, statement: NamedStatement, params: unknown[]): Promise<T[]> {
  return rowsOf<T>(await prepare(db, statement.text, params, statement.name));
}

/**
 * The same transaction, except that raw statements run through it (`execute`, hence `execRows` and
 * `insertAsJson`) are prepared statements, as `execNamed` runs them. For code that takes a transaction and
 * runs fixed raw statements in it (the evidence append: lane head, insert), called on a hot path.
 * Everything else (the builders, `'rollback' in tx`, nested transactions) is the transaction's own.
 */
export function withPreparedStatements(tx: Tx): Tx {
  const handle = Object.create(tx) as Tx;
  (handle as unknown as { execute(query: string | SQLWrapper): Promise<unknown> }).execute = (query) => {
    const { sql: text, params } = (tx as unknown as Internals).dialect.sqlToQuery(typeof query === 'string' ? sql.raw(query) : query.getSQL());
    return prepare(tx, text, params, 'prepared');
  };
  return handle;
}

function prepare(db: DbOrTx, text: string, params: unknown[], name: string): Promise<unknown> {
  // A name makes drizzle ask postgres.js to prepare it (postgres.js names and caches it per connection by its text).
  return (db as unknown as Internals).session.prepareQuery({ sql: text, params }, undefined, name, false).execute();
}

function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] } | null)?.rows ?? []) as T[];
}
