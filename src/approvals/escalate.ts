import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { actions } from '../db/schema';
import { appendEvents } from '../audit/append';
import { storedEscalation } from './escalation';

/**
 * Pending approvals whose rule says `escalate_to` and that nobody decided within `after_seconds` are
 * escalated once: `escalated_at` is set by a conditional update (`WHERE escalated_at IS NULL`) in the same
 * transaction as the evidence, so two instances ticking at once escalate an action once. The escalation
 * group may decide from then on (see decidingGroups); the caller re-posts the card to its channel.
 * Requests already past their timeout are left to expiry: asking someone new after the deadline is pointless.
 */
export async function escalateDueApprovals(db: Db, limit = 200): Promise<string[]> {
  const due = await db
    .select({ id: actions.id })
    .from(actions)
    .where(
      and(
        eq(actions.status, 'pending_approval'),
        isNull(actions.escalatedAt),
        gt(actions.expiresAt, sql`now()`),
        sql`jsonb_typeof(${actions.escalation}->'escalate_to') = 'object'`,
        sql`${actions.createdAt} + make_interval(secs => (${actions.escalation}->'escalate_to'->>'after_seconds')::double precision) <= now()`,
      ),
    )
    .limit(limit);
  const escalated: string[] = [];
  for (const { id } of due) {
    const done = await db.transaction(async (tx) => {
      const [row] = await tx
        .update(actions)
        .set({ escalatedAt: sql`now()`, updatedAt: sql`now()` })
        .where(and(eq(actions.id, id), eq(actions.status, 'pending_approval'), isNull(actions.escalatedAt)))
        .returning();
      if (!row) return false;
      const e = storedEscalation(row);
      await appendEvents(tx, [
        {
          type: 'approval.escalated',
          actor: 'system',
          actionId: id,
          correlationId: row.correlationId,
          agentId: row.agentId,
          policyVersion: row.policyVersion,
          data: { from: e.via, to: e.escalateTo?.via ?? null, after_seconds: e.escalateTo?.afterSeconds ?? null, expires_at: row.expiresAt?.toISOString() ?? null },
        },
      ]);
      return true;
    });
    if (done) escalated.push(id);
  }
  return escalated;
}
