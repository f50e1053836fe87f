import { eq } from 'drizzle-orm';
import type { ApproverCheck } from '../approvals/decide';
import { decidingGroups } from '../approvals/escalation';
import { appendEvents } from '../audit/append';
import { agents, actions, type ActionRow } from '../db/schema';
import { buildCompensation, compensationFor, CompensationError } from '../contracts/compensation';
import { createAction, type IntakeDeps } from '../intake/service';
import { isProblem } from '../lib/errors';

export type RollbackOutcome =
  | { kind: 'filed'; actionId: string; status: string; replayed: boolean }
  | { kind: 'refused'; reason: 'not-found' | 'not-committed' | 'no-compensation' | 'not-authorized' | 'not-human' | 'invalid' | 'intake-refused'; detail: string };

export type RollbackDeps = IntakeDeps & { approverStanding: ApproverCheck };

/** The idempotency key of an action's rollback: one per action, whoever presses and however often. */
export function rollbackKey(actionId: string): string {
  return `rollback-${actionId}`;
}

async function existingRollback(deps: RollbackDeps, original: ActionRow): Promise<RollbackOutcome | null> {
  const [row] = await deps.db.select({ id: actions.id, status: actions.status }).from(actions).where(eq(actions.rollbackOf, original.id)).limit(1);
  return row ? { kind: 'filed', actionId: row.id, status: row.status, replayed: true } : null;
}

/**
 * "Roll back" (docs/agent-controls.md, "Rollback"): files the compensating action the tool contract names, built
 * from the original's params and its executor result, through the same intake and policy as any request — as
 * the original's agent, on behalf of the person who pressed (who therefore cannot approve it), in the original's
 * correlation chain. Only a committed action whose contract names a compensation can be rolled back, only by
 * a member of the groups that could decide it, and only once (the rollback's idempotency key and a unique index).
 */
export async function fileRollback(deps: RollbackDeps, originalId: string, userId: string): Promise<RollbackOutcome> {
  const [original] = await deps.db.select().from(actions).where(eq(actions.id, originalId)).limit(1);
  if (!original) return { kind: 'refused', reason: 'not-found', detail: 'no such action' };
  const already = await existingRollback(deps, original);
  if (already) return already;
  if (original.status !== 'committed') return { kind: 'refused', reason: 'not-committed', detail: `only a committed action can be rolled back; this one is ${original.status}` };
  const compensation = compensationFor(deps.config, original.executor, original.actionClass);
  if (!compensation) return { kind: 'refused', reason: 'no-compensation', detail: `the tool contract for ${original.actionClass} names no compensating action, so it cannot be rolled back here` };

  const groups = decidingGroups(original);
  const standing = groups.length ? await deps.approverStanding(groups, userId) : false;
  if (standing === 'not-human') return { kind: 'refused', reason: 'not-human', detail: 'bots and agents cannot roll back actions' };
  if (standing !== true && standing !== 'approver') {
    return { kind: 'refused', reason: 'not-authorized', detail: `only members of ${groups.join(' or ') || '(no group)'} may roll back this action` };
  }

  let params: Record<string, unknown>;
  try {
    params = buildCompensation(compensation, { params: original.params, result: original.result });
  } catch (err) {
    if (err instanceof CompensationError) return { kind: 'refused', reason: 'invalid', detail: err.message };
    throw err;
  }
  const [agent] = await deps.db.select().from(agents).where(eq(agents.id, original.agentId)).limit(1);
  if (!agent) return { kind: 'refused', reason: 'not-found', detail: 'the agent of this action no longer exists' };

  const request = {
    action_class: compensation.action_class,
    params,
    idempotency_key: rollbackKey(original.id),
    correlation_id: original.correlationId,
    justification: compensation.justification ?? `Roll back ${original.id} (${original.actionClass}), asked by <@${userId}> in Slack.`,
    on_behalf_of: userId,
  };
  let filed: { status: number; body: Record<string, unknown>; replayed: boolean };
  try {
    filed = await createAction(deps, { agent, tokenId: `rollback:${original.id}` }, request, { rollbackOf: original.id });
  } catch (err) {
    // Pressed twice at once (or by two people): the second finds the first's rollback.
    const raced = await existingRollback(deps, original);
    if (raced) return raced;
    if (isProblem(err)) return { kind: 'refused', reason: 'intake-refused', detail: `the rollback was refused: ${err.message}` };
    throw err;
  }
  const actionId = String(filed.body.action_id ?? filed.body.id ?? '');
  const status = String(filed.body.action_status ?? filed.body.status ?? '');
  if (!filed.replayed) {
    await appendEvents(deps.db, [
      {
        type: 'rollback.requested',
        actor: `slack:${userId}`,
        actionId: original.id,
        correlationId: original.correlationId,
        agentId: original.agentId,
        policyVersion: original.policyVersion,
        data: { rollback_action_id: actionId, action_class: compensation.action_class, params, status },
      },
    ]);
  }
  return { kind: 'filed', actionId, status, replayed: filed.replayed };
}
