import { csvField } from '../audit/event-view';

/** A CSV document (header + rows, RFC 4180 quoting, formula-looking cells defused as in audit exports). */
export function toCsv(columns: readonly string[], rows: ReadonlyArray<Record<string, unknown>>): string {
  const lines = [columns.map(csvField).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(row[c])).join(','));
  return `${lines.join('\n')}\n`;
}
