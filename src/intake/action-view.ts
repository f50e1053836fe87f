import type { ActionRow } from '../db/schema';
import type { ActionView } from './schemas';
import type { ClaimConflict } from '../policy';

/** The API's view of an action row. Params are not echoed back: the agent has them. */
export function toActionView(row: ActionRow): ActionView {
  const conflicts = (row.facts as { claim_conflicts?: ClaimConflict[] } | null)?.claim_conflicts;
  const overruns = (row.facts as { budget_overrun?: Array<Record<string, unknown>> } | null)?.budget_overrun;
  const prepared = row.prepared as { facts?: Record<string, unknown>; preview?: string } | null;
  return {
    id: row.id,
    status: row.status as ActionView['status'],
    action_class: row.actionClass,
    agent_id: row.agentId,
    correlation_id: row.correlationId,
    idempotency_key: row.idempotencyKey,
    dry_run: row.dryRun,
    decision: {
      decision: row.decision as ActionView['decision']['decision'],
      rule_id: row.ruleId,
      reasoning: row.reasoning,
      policy_version: row.policyVersion,
      escalation: row.escalation ?? null,
      ...(conflicts ? { claim_conflicts: conflicts } : {}),
    },
    payload_hash: row.payloadHash,
    ...(row.planHash ? { plan_hash: row.planHash } : {}),
    ...(row.prepared ? { prepared: { facts: prepared!.facts, preview: prepared!.preview ?? null, plan_hash: row.planHash } } : {}),
    ...(row.taskId ? { task_id: row.taskId } : {}),
    ...(row.onBehalfOf ? { on_behalf_of: row.onBehalfOf } : {}),
    ...(row.edited ? { edited: { ...(row.edited as Omit<NonNullable<ActionView['edited']>, 'params'>), params: row.params } } : {}),
    ...(row.grantId ? { grant_id: row.grantId } : {}),
    ...(row.rollbackOf ? { rollback_of: row.rollbackOf } : {}),
    ...(overruns?.length ? { budget_overrun: overruns } : {}),
    executor: row.executor,
    approvals_required: row.approvalsRequired,
    expires_at: row.expiresAt ? row.expiresAt.toISOString() : null,
    ...(row.preview !== null && row.preview !== undefined ? { preview: row.preview } : {}),
    ...(row.result !== null && row.result !== undefined ? { result: row.result } : {}),
    ...(row.failure ? { failure: row.failure } : {}),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
