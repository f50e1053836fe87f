import type postgres from 'postgres';
import type { DbOrTx } from '../db/client';
import { CSV_COLUMNS, csvRow, type AuditEventView } from './event-view';
import { queryEvents, seqBounds, type AuditFilter } from './query';
import { toEventView } from './event-view';

export type ExportFormat = 'jsonl' | 'csv';

type RawEvent = Omit<AuditEventView, 'seq'> & { seq: string | number };

/**
 * Streams matching events in chain order through a server-side cursor, 500 rows at a time, so memory stays
 * flat however many events match. `write` may return a promise (back-pressure); it is awaited per batch.
 * Returns the number of events written.
 */
export async function exportEvents(
  db: DbOrTx,
  sql: postgres.Sql | null,
  filter: AuditFilter,
  format: ExportFormat,
  write: (chunk: string) => void | Promise<void>,
  opts: { batchSize?: number } = {},
): Promise<number> {
  if (format === 'csv') await write(`${CSV_COLUMNS.join(',')}\n`);
  const bounds = await seqBounds(db, filter);
  if (bounds.empty) return 0;
  if (!sql) return exportByPages(db, filter, format, write, opts.batchSize ?? 500);
  let where = sql`true`;
  const and = (frag: postgres.PendingQuery<postgres.Row[]>) => {
    where = sql`${where} and ${frag}`;
  };
  if (filter.action_id) and(sql`action_id = ${filter.action_id}`);
  if (filter.correlation_id) and(sql`correlation_id = ${filter.correlation_id}`);
  if (filter.agent_id) and(sql`agent_id = ${filter.agent_id}`);
  if (filter.actor) and(sql`actor = ${filter.actor}`);
  if (filter.type) and(sql`type = ${filter.type}`);
  if (bounds.from !== null) and(sql`seq >= ${bounds.from}`);
  if (bounds.to !== null) and(sql`seq < ${bounds.to}`);
  // created_at is checked here, not in SQL: with only the seq range the plan is an ordered index range scan
  // whose first rows come at once (a created_at condition can tempt the planner into a bitmap scan + sort
  // that reads the whole range before the first row). Only rows within the margin are skipped.
  const since = filter.since?.getTime() ?? -Infinity;
  const until = filter.until?.getTime() ?? Infinity;
  const lead = (['action_id', 'correlation_id', 'agent_id', 'actor', 'type'] as const).find((k) => filter[k]);

  let n = 0;
  const cursor = sql<RawEvent[]>`
    select seq, id, schema_version, type, action_id, correlation_id, agent_id, actor, policy_version,
           data, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created_at, prev_hash, hash, chain_lane
    from audit_events where ${where} order by ${lead ? sql`${sql(lead)}, seq` : sql`seq`}`.cursor(opts.batchSize ?? 500);
  for await (const rows of cursor) {
    let chunk = '';
    for (const r of rows) {
      const at = Date.parse(r.created_at);
      if (at < since || at >= until) continue;
      n++;
      const view: AuditEventView = { ...r, seq: Number(r.seq), data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data };
      chunk += format === 'csv' ? `${csvRow(view)}\n` : `${JSON.stringify(view)}\n`;
    }
    if (chunk) await write(chunk);
  }
  return n;
}

/** Without postgres.js (embedded PGlite), the same stream in keyset pages: still constant memory. */
async function exportByPages(
  db: DbOrTx,
  filter: AuditFilter,
  format: ExportFormat,
  write: (chunk: string) => void | Promise<void>,
  batchSize: number,
): Promise<number> {
  let n = 0;
  let after: number | null = null;
  for (;;) {
    const page = await queryEvents(db, filter, { after, limit: batchSize });
    if (page.events.length === 0) return n;
    let chunk = '';
    for (const row of page.events) {
      const view = toEventView(row);
      chunk += format === 'csv' ? `${csvRow(view)}\n` : `${JSON.stringify(view)}\n`;
    }
    n += page.events.length;
    await write(chunk);
    if (!page.next_cursor) return n;
    after = page.events[page.events.length - 1]!.seq;
  }
}
