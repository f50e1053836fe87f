import { and, asc, desc, eq, gt, gte, lt, sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { DbOrTx } from '../db/client';
import { auditEvents, type AuditEventRow } from '../db/schema';

export const MAX_PAGE = 500;

/** Filters shared by GET /v1/audit, `countersign audit export` and /audit. */
export const auditFilter = z.strictObject({
  action_id: z.string().min(1).max(200).optional(),
  correlation_id: z.string().min(1).max(200).optional(),
  agent_id: z.string().min(1).max(200).optional(),
  actor: z.string().min(1).max(300).optional(),
  type: z.string().min(1).max(100).optional(),
  since: z.coerce.date().optional(),
  until: z.coerce.date().optional(),
});

export type AuditFilter = z.infer<typeof auditFilter>;

export type AuditPage = { events: AuditEventRow[]; next_cursor: string | null };

/**
 * How far created_at may run against seq order across chain lanes. Events are stamped with the database
 * clock just after their seq numbers are taken (append.ts), so two lanes can invert by microseconds (by
 * more only if the database clock steps back). Five seconds is far beyond that and costs five seconds of
 * extra index range at each end.
 */
const SEQ_MARGIN_MS = 5_000;

/**
 * Turns a time range into a seq range. created_at never decreases along a lane and runs ahead of seq by
 * at most SEQ_MARGIN_MS across lanes (append.ts), so the first event at or after (since − margin) bounds
 * every event at or after since; the created_at condition stays in the query, so the answer is exact.
 */
export async function seqBounds(db: DbOrTx, f: AuditFilter): Promise<{ from: number | null; to: number | null; empty: boolean }> {
  const firstAtOrAfter = async (at: Date) => {
    const [row] = await db
      .select({ seq: auditEvents.seq })
      .from(auditEvents)
      .where(gte(auditEvents.createdAt, at))
      .orderBy(asc(auditEvents.createdAt), asc(auditEvents.seq))
      .limit(1);
    return row?.seq ?? null;
  };
  const from = f.since ? await firstAtOrAfter(new Date(f.since.getTime() - SEQ_MARGIN_MS)) : null;
  if (f.since && from === null) return { from, to: null, empty: true };
  const to = f.until ? await firstAtOrAfter(new Date(f.until.getTime() + SEQ_MARGIN_MS)) : null;
  return { from, to, empty: false };
}

/** Equality conditions of a filter, most selective first. */
function equalities(f: AuditFilter): Array<{ column: AnyPgColumn; value: string }> {
  const out: Array<{ column: AnyPgColumn; value: string }> = [];
  if (f.action_id) out.push({ column: auditEvents.actionId, value: f.action_id });
  if (f.correlation_id) out.push({ column: auditEvents.correlationId, value: f.correlation_id });
  if (f.agent_id) out.push({ column: auditEvents.agentId, value: f.agent_id });
  if (f.actor) out.push({ column: auditEvents.actor, value: f.actor });
  if (f.type) out.push({ column: auditEvents.type, value: f.type });
  return out;
}

/**
 * The ORDER BY that walks the `(column, seq)` index of the leading filter: ordering by a column held
 * constant by the WHERE clause changes nothing in the result, but tells the planner which index reads the
 * rows already in order (otherwise it may walk the primary key and filter, reading far more rows).
 */
export function orderFor(f: AuditFilter, order: 'asc' | 'desc'): SQL[] {
  const dir = order === 'asc' ? asc : desc;
  const lead = equalities(f)[0];
  return lead ? [dir(lead.column), dir(auditEvents.seq)] : [dir(auditEvents.seq)];
}

/** The WHERE clause for a filter, or null when no event can match. `withTime: false` leaves out created_at. */
export async function filterCondition(db: DbOrTx, f: AuditFilter, opts: { withTime?: boolean } = {}): Promise<SQL | null> {
  const bounds = await seqBounds(db, f);
  if (bounds.empty) return null;
  const conds: SQL[] = equalities(f).map((e) => eq(e.column, e.value));
  if (bounds.from !== null) conds.push(gte(auditEvents.seq, bounds.from));
  if (bounds.to !== null) conds.push(lt(auditEvents.seq, bounds.to));
  if (opts.withTime !== false) {
    // Written so no index can serve it: the seq range already bounds the scan, and with an indexable
    // created_at condition beside it the planner misjudges the two (correlated) ranges and may read the
    // whole time range and sort it instead of walking the seq index in order and stopping at the page size.
    if (f.since) conds.push(sql`(${auditEvents.createdAt} + interval '0 seconds') >= ${f.since.toISOString()}::timestamptz`);
    if (f.until) conds.push(sql`(${auditEvents.createdAt} + interval '0 seconds') < ${f.until.toISOString()}::timestamptz`);
  }
  return conds.length ? and(...conds)! : sql`true`;
}

export function encodeCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): number | null {
  const m = /^seq:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return m ? Number(m[1]) : null;
}

/**
 * One page of events in chain order (or newest first), keyset-paginated on seq: a page costs the same at
 * event one and at event one million.
 */
export async function queryEvents(
  db: DbOrTx,
  f: AuditFilter,
  page: { after?: number | null; limit?: number; order?: 'asc' | 'desc' } = {},
): Promise<AuditPage> {
  const limit = Math.min(Math.max(page.limit ?? 100, 1), MAX_PAGE);
  const where = await filterCondition(db, f);
  if (!where) return { events: [], next_cursor: null };
  const order = page.order ?? 'asc';
  const keyset = page.after == null ? undefined : order === 'asc' ? gt(auditEvents.seq, page.after) : lt(auditEvents.seq, page.after);
  const rows = await db
    .select()
    .from(auditEvents)
    .where(keyset ? and(where, keyset) : where)
    .orderBy(...orderFor(f, order))
    .limit(limit + 1);
  const more = rows.length > limit;
  const events = more ? rows.slice(0, limit) : rows;
  return { events, next_cursor: more ? encodeCursor(events[events.length - 1]!.seq) : null };
}

/**
 * How many events match (for "showing 30 of 1 204"). Counted on the filter's `(column, seq)` index over
 * the seq range alone (an index-only scan once autovacuum has set the visibility map), then corrected at
 * the two edges, where lanes may interleave created_at within SEQ_MARGIN_MS: exact, without reading the
 * table for every matching row.
 */
export async function countEvents(db: DbOrTx, f: AuditFilter): Promise<number> {
  const count = async (cond: SQL) => (await db.select({ n: sql<number>`count(*)::int` }).from(auditEvents).where(cond))[0]?.n ?? 0;
  if (f.since && f.until && f.until.getTime() - f.since.getTime() < 4 * SEQ_MARGIN_MS) {
    // A narrow window: the edges would overlap, and there are few rows anyway.
    const exact = await filterCondition(db, f);
    return exact ? count(exact) : 0;
  }
  const where = await filterCondition(db, f, { withTime: false });
  if (!where) return 0;
  let n = await count(where);
  // The seq range starts at the first event at (since − margin) and ends before the first at (until +
  // margin); events inside it but outside [since, until) lie within one more margin of those points.
  const edge = 2 * SEQ_MARGIN_MS;
  if (f.since) n -= await count(and(where, gte(auditEvents.createdAt, new Date(f.since.getTime() - edge)), lt(auditEvents.createdAt, f.since))!);
  if (f.until) n -= await count(and(where, gte(auditEvents.createdAt, f.until), lt(auditEvents.createdAt, new Date(f.until.getTime() + edge)))!);
  return Math.max(0, n);
}

/** The whole chain of one action (and anything else sharing its correlation id), in order. */
export async function actionEvents(db: DbOrTx, actionId: string, limit = 5000): Promise<AuditEventRow[]> {
  return db.select().from(auditEvents).where(eq(auditEvents.actionId, actionId)).orderBy(asc(auditEvents.seq)).limit(limit);
}
