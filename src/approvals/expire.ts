import { and, eq, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { actions } from '../db/schema';
import { appendEvents } from '../audit/append';
import { transitionAction } from './transition';

/** Pending approvals past their timeout become `expired` (a denial), one conditional update each. */
export async function expirePendingApprovals(db: Db, limit = 200): Promise<string[]> {
  const due = await db
    .select({ id: actions.id })
    .from(actions)
    .where(and(eq(actions.status, 'pending_approval'), lt(actions.expiresAt, sql`now()`)))
    .limit(limit);
  const expired: string[] = [];
  for (const { id } of due) {
    const done = await db.transaction(async (tx) => {
      const row = await transitionAction(tx, id, ['pending_approval'], 'expired', {
        finishedAt: new Date(),
        failure: { reason: 'no decision before the approval timeout; denied' },
      });
      if (!row) return false;
      await appendEvents(tx, [
        { type: 'action.expired', actor: 'system', actionId: id, correlationId: row.correlationId, agentId: row.agentId, policyVersion: row.policyVersion, data: { expires_at: row.expiresAt?.toISOString() ?? null, on_timeout: 'deny' } },
      ]);
      return true;
    });
    if (done) expired.push(id);
  }
  return expired;
}
