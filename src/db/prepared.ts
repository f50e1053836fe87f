import type { DbOrTx } from './client';

/**
 * A drizzle prepared statement, built once per database handle and statement name.
 *
 * Why: building a query with drizzle's builders (`is()` checks, `buildQueryFromSourceParams`, column
 * mapping) costs more event-loop time on the hot intake path than the round trip it makes. A prepared
 * statement is built once; each call only fills its `sql.placeholder(...)` values. Naming it also lets
 * postgres.js prepare it on the server (unnamed drizzle queries are parsed and described on every call).
 *
 * A prepared statement is bound to the handle it was built on (its connection pool, or one transaction's
 * connection), so it is cached per handle: use it with `db` for queries that run outside a transaction.
 */
export function preparedOn<P>(db: DbOrTx, name: string, build: (db: DbOrTx, name: string) => P): P {
  let byName = cache.get(db);
  if (!byName) cache.set(db, (byName = new Map()));
  let prepared = byName.get(name) as P | undefined;
  if (prepared === undefined) {
    prepared = build(db, name);
    byName.set(name, prepared);
  }
  return prepared;
}

const cache = new WeakMap<object, Map<string, unknown>>();
