import type { SQL } from 'drizzle-orm';
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
