import { getTableColumns, getTableName, sql, type SQL } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { DbOrTx } from './client';
import { execRows } from './exec';

/**
 * Inserts rows sent as one JSON parameter (`jsonb_populate_recordset`), for wide rows on hot paths.
 *
 * Why: drizzle's insert builder walks every column of every row through its `is()` checks and makes one
 * bind parameter per value; for the intake's action row (30 columns) and its evidence (3 × 14) that cost
 * more event-loop time than the statements' round trips. Here the statement text is fixed per column list
 * and the values travel as a single jsonb parameter that PostgreSQL converts to the columns' types.
 *
 * Values must already be what JSON carries faithfully: strings, numbers, booleans, null, Dates (sent as
 * ISO strings, millisecond precision like drizzle's), arrays, and objects (for jsonb columns; a JSON null
 * becomes SQL NULL, as drizzle sends it). Only the keys of the first row whose value is not `undefined`
 * are inserted, so every other column gets its default, as with drizzle; all rows must have those keys.
 * `tail` is appended (e.g. `on conflict do nothing returning id`); the rows it returns are raw (snake_case).
 */
export async function insertAsJson<T extends Record<string, unknown>>(
  db: DbOrTx,
  table: PgTable,
  rows: Array<Record<string, unknown>>,
  tail?: SQL,
): Promise<T[]> {
  if (rows.length === 0) return [];
  return execRows<T>(db, jsonInsertSql(table, rows, tail));
}

/** The statement `insertAsJson` runs, for use inside a larger one (e.g. a CTE); `rows` must not be empty. */
export function jsonInsertSql(table: PgTable, rows: Array<Record<string, unknown>>, tail?: SQL): SQL {
  const { names, payload } = columnJson(table, rows);
  const list = sql.raw(names.map((n) => `"${n}"`).join(', '));
  const name = sql.raw(`"${getTableName(table)}"`);
  return sql`insert into ${name} (${list}) select ${list} from jsonb_populate_recordset(null::${name}, ${JSON.stringify(payload)}::jsonb) ${tail ?? sql``}`;
}

/**
 * Rows keyed by column name (snake_case), as `jsonb_populate_recordset` reads them: the keys of the first
 * row whose value is not `undefined`, every row with the same keys (a missing value is sent as null).
 */
export function columnJson(table: PgTable, rows: Array<Record<string, unknown>>): { names: string[]; payload: Array<Record<string, unknown>> } {
  const columns = getTableColumns(table);
  const keys = Object.keys(rows[0]!).filter((k) => rows[0]![k] !== undefined);
  const names = keys.map((k) => {
    const column = columns[k];
    if (!column) throw new Error(`${getTableName(table)} has no column ${k}`);
    return column.name;
  });
  const payload = rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < keys.length; i++) out[names[i]!] = row[keys[i]!] ?? null;
    return out;
  });
  return { names, payload };
}
