import { getTableColumns } from 'drizzle-orm';
import { actions, type ActionRow } from '../db/schema';

/**
 * An action row read as `to_jsonb(actions)` in raw SQL, as drizzle would have mapped it: camelCase keys,
 * timestamps as Dates (millisecond precision, like drizzle's), jsonb columns as parsed values.
 *
 * Why: the release's claim is one raw statement for a whole batch (claim.ts); reading the row back
 * as one jsonb value works the same on postgres.js and PGlite, which parse timestamps differently.
 */
export function actionRowFromJson(json: Record<string, unknown>): ActionRow {
  const row: Record<string, unknown> = {};
  for (const [key, name, isDate] of COLUMNS) {
    const v = json[name];
    row[key] = v === null || v === undefined ? null : isDate ? new Date(v as string) : v;
  }
  return row as ActionRow;
}

const COLUMNS: Array<[key: string, name: string, isDate: boolean]> = Object.entries(getTableColumns(actions)).map(([key, column]) => [
  key,
  column.name,
  column.dataType === 'date',
]);
