import type postgres from 'postgres';
import { and, asc, getTableColumns, gte, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { actions } from '../db/schema';
import { runPolicyCommand, type RecordedDecision } from '../policy';
import type { CliIo } from './io';
import { storedPolicyInput } from '../release';
import { withOperatorDb, type OperatorHandle } from './operator-db';

type RecordedRow = {
  id: string;
  action_class: string;
  context: Record<string, unknown>;
  params: Record<string, unknown>;
  facts: Record<string, unknown> | null;
  decision: RecordedDecision['decision'];
  rule_id: string | null;
  created_at: Date;
};

/**
 * `countersign policy …`: the policy tools, with `replay` fed from the actions recorded in the database,
 * streamed (a server-side cursor on PostgreSQL, keyset pages on the embedded one) so a month of traffic replays
 * in constant memory.
 */
export async function runPolicyCli(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] !== 'replay') return runPolicyCommand(argv, io);
  return withOperatorDb(io, (handle) =>
    runPolicyCommand(argv, {
      ...io,
      loadRecorded: (since) => recordedDecisions(handle, since),
    }),
  );
}

/** The decisions recorded since `since`, oldest first, as a replay reads them. */
export function recordedDecisions(handle: OperatorHandle, since: Date): AsyncIterable<RecordedDecision> {
  return handle.sql ? recordedSince(handle.sql, since) : recordedSinceByPages(handle.db, since);
}

/**
 * One recorded action as a replay input: the original request time, so time-window conditions replay as they
 * were decided, with the facts recorded when it was decided (plan, agent, requester, usage).
 */
function recorded(r: Pick<RecordedRow, 'id' | 'action_class' | 'context' | 'params' | 'facts' | 'decision' | 'rule_id' | 'created_at'>): RecordedDecision {
  return {
    action_id: r.id,
    input: { ...storedPolicyInput({ actionClass: r.action_class, params: r.params, context: r.context, facts: r.facts }), now: r.created_at },
    decision: r.decision,
    rule_id: r.rule_id,
  };
}

async function* recordedSince(sql: postgres.Sql, since: Date): AsyncIterable<RecordedDecision> {
  const cursor = sql<RecordedRow[]>`
    select id, action_class, context, params, facts, decision, rule_id, created_at
    from actions where created_at >= ${since.toISOString()}::timestamptz order by created_at`.cursor(500);
  for await (const rows of cursor) {
    for (const r of rows) yield recorded(r);
  }
}

/** The same records read in keyset pages, for the embedded database (PGlite has no server-side cursor). */
async function* recordedSinceByPages(db: Db, since: Date, pageSize = 500): AsyncIterable<RecordedDecision> {
  // The cursor keeps created_at as text: a JS Date would drop its microseconds and repeat rows.
  let after: { at: string; id: string } | null = null;
  for (;;) {
    const from = gte(actions.createdAt, since);
    const page: Array<typeof actions.$inferSelect & { at: string }> = await db
      .select({ ...getTableColumns(actions), at: sql<string>`${actions.createdAt}::text` })
      .from(actions)
      .where(after ? and(from, sql`(${actions.createdAt}, ${actions.id}) > (${after.at}::timestamptz, ${after.id})`) : from)
      .orderBy(asc(actions.createdAt), asc(actions.id))
      .limit(pageSize);
    for (const r of page) {
      yield recorded({
        id: r.id,
        action_class: r.actionClass,
        context: r.context,
        params: r.params,
        facts: r.facts,
        decision: r.decision as RecordedDecision['decision'],
        rule_id: r.ruleId,
        created_at: r.createdAt,
      });
    }
    if (page.length < pageSize) return;
    after = { at: page.at(-1)!.at, id: page.at(-1)!.id };
  }
}
