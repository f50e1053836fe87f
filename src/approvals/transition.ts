import { and, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../db/client';
import { actions, type ActionRow } from '../db/schema';
import type { ActionStatus } from './status';
import { settleBudgets } from '../controls/budgets';

export type ActionPatch = Partial<Omit<typeof actions.$inferInsert, 'id' | 'status'>>;

/**
 * The only way an action changes state: one conditional update (`WHERE status IN (from)`).
 * Returns the updated row, or null when the action was not in an expected state — the caller then does
 * nothing and says so. Evidence for the change must be appended in the same transaction.
 */
export async function transitionAction(
  tx: Tx,
  actionId: string,
  from: readonly ActionStatus[],
  to: ActionStatus,
  patch: ActionPatch = {},
  /** Extra condition, e.g. the release's lease fence (`attempts = n`), so a stale worker cannot record over a newer claim. */
  guard?: SQL,
): Promise<ActionRow | null> {
  const [row] = await tx
    .update(actions)
    .set({ ...patch, status: to, updatedAt: sql`now()` })
    .where(and(eq(actions.id, actionId), inArray(actions.status, [...from]), guard))
    .returning();
  // The one budget hook: every end of an action settles its reservations in this same transaction.
  if (row) await settleBudgets(tx, actionId, to);
  return row ?? null;
}

export async function getAction(tx: Tx | Parameters<typeof transitionAction>[0], actionId: string): Promise<ActionRow | undefined> {
  const [row] = await tx.select().from(actions).where(eq(actions.id, actionId)).limit(1);
  return row;
}

export async function lockAction(tx: Tx, actionId: string): Promise<ActionRow | undefined> {
  const [row] = await tx.select().from(actions).where(eq(actions.id, actionId)).for('update').limit(1);
  return row;
}
