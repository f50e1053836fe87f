import { sql, type SQL } from 'drizzle-orm';
import type { DbOrTx } from './client';

/**
 * Runs raw SQL and returns its rows, whichever driver runs it: postgres.js answers an array of rows,
 * PGlite an object with `rows`. Column values are as the driver parses them (PGlite leaves timestamps
 * as strings), so select scalars or cast in SQL.
 */
export async function execRows<T extends Record<string, unknown>>(db: DbOrTx, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] } | null)?.rows ?? []) as T[];
}

const singleConnection = new WeakSet<object>();

/**
 * Marks a database whose driver has one connection shared by everything (embedded PGlite): a query
 * outside a transaction waits until the open transaction ends, so code must not await `db` inside `db.transaction`.
 */
export function markSingleConnection(db: DbOrTx): void {
  singleConnection.add(db);
}

/**
 * Runs `task` only if this process takes the advisory lock `key` (others skip this round); the lock is
 * held while the task runs. On a single-connection embedded database no other process can open the
 * data directory, so the task just runs, outside any transaction (it may use `db` freely).
 */
export async function ifLockTaken(db: DbOrTx, key: number, task: () => Promise<unknown>): Promise<boolean> {
  if (singleConnection.has(db)) {
    await task();
    return true;
  }
  return db.transaction(async (tx) => {
    const [row] = await execRows<{ locked: boolean }>(tx, sql`select pg_try_advisory_xact_lock(${key}) as locked`);
    if (!row?.locked) return false;
    await task();
    return true;
  });
}
