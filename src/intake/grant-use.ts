import type { Tx } from '../db/client';
import { approvals, type StandingGrantRow } from '../db/schema';
import type { AuditEventInput } from '../audit/append';
import { findGrantFor, useGrant } from '../grants/store';
import { newId } from '../lib/ids';
import type { NewAction } from './record';
import type { Planned } from './plan-status';
import type { IntakeDeps } from './types';

/** Said inside the creating transaction when another request took the grant's last use first: plan again without it. */
export class GrantTaken extends Error {
  constructor(readonly grantId: string) {
    super(`standing grant ${grantId} was used up by a concurrent request`);
  }
}

/**
 * The standing grant that would approve a request the policy escalates (docs/policy.md, "Standing grants"):
 * only for a real (not dry-run) request whose rule allows grants. `exclude` lists grants a concurrent request
 * has just used up.
 */
export async function grantCandidate(
  deps: Pick<IntakeDeps, 'db'>,
  d: { agentId: string; actionClass: string; executor: string; params: Record<string, unknown>; planned: Planned },
  exclude: readonly string[],
): Promise<StandingGrantRow | null> {
  const decision = d.planned.decision;
  if (d.planned.status !== 'pending_approval' || !decision.escalation?.standing || !decision.rule_id) return null;
  return findGrantFor(
    deps.db,
    { agentId: d.agentId, actionClass: d.actionClass, executor: d.executor, ruleId: decision.rule_id, policyVersion: decision.policy_version, params: d.params },
    exclude,
  );
}

/**
 * Takes the grant's use for a just-inserted action, in its creating transaction, and records it as approvals
 * by the grant's humans (linked to the grant) with the evidence on both chains: `action.approved` (by the
 * grant) on the new action, `grant.used` on the action whose card gave the grant.
 */
export async function recordGrantUse(tx: Tx, row: NewAction, grant: StandingGrantRow): Promise<AuditEventInput[]> {
  const used = await useGrant(tx, grant.id);
  if (!used) throw new GrantTaken(grant.id);
  await tx.insert(approvals).values(
    used.approvers.map((approver) => ({
      id: newId('approval'),
      actionId: row.id,
      approver,
      verdict: 'approve',
      reason: `standing grant ${used.id} (given on ${used.originActionId})`,
      payloadHash: row.payloadHash,
      grantId: used.id,
    })),
  );
  const base = { correlationId: row.correlationId, agentId: row.agentId, policyVersion: row.policyVersion };
  const grantData = {
    grant_id: used.id,
    origin_action_id: used.originActionId,
    approvers: used.approvers,
    use: used.usedCount,
    max_count: used.maxCount,
    expires_at: used.expiresAt.toISOString(),
  };
  const events: AuditEventInput[] = [
    { ...base, actionId: row.id, type: 'action.approved', actor: `grant:${used.id}`, data: { by: 'grant', payload_hash: row.payloadHash, ...grantData } },
    { ...base, actionId: used.originActionId, type: 'grant.used', actor: `grant:${used.id}`, data: { action_id: row.id, payload_hash: row.payloadHash, ...grantData } },
  ];
  if (used.status === 'ended') {
    events.push({ ...base, actionId: used.originActionId, type: 'grant.ended', actor: 'system', data: { grant_id: used.id, reason: 'exhausted', used: used.usedCount, max_count: used.maxCount } });
  }
  return events;
}
