import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { actions, approvals, commitOutbox, type ActionRow } from '../db/schema';
import { appendEvents } from '../audit/append';
import { newId } from '../lib/ids';
import { lockAction, transitionAction } from './transition';

export type ApprovalVerdict = 'approve' | 'deny';

export type ApprovalInput = {
  actionId: string;
  /** Slack user id of the human who clicked. */
  userId: string;
  verdict: ApprovalVerdict;
  reason?: string | null;
  /** The payload hash on the card the human acted on. */
  shownPayloadHash: string;
};

export type RefusalReason = 'not-authorized' | 'requester' | 'stale-payload' | 'not-pending' | 'duplicate' | 'expired' | 'not-found';

export type ApprovalOutcome =
  | { kind: 'recorded'; action: ActionRow; approvals: number; required: number }
  | { kind: 'approved'; action: ActionRow; approvers: string[] }
  | { kind: 'denied'; action: ActionRow }
  | { kind: 'refused'; reason: RefusalReason; detail: string; action: ActionRow | null };

export type ApproverCheck = (group: string, userId: string) => Promise<boolean>;

/**
 * Records a human's answer to a pending action. Authorisation is checked before the transaction (it may
 * call Slack); the state change itself is serialised by a row lock, so two clicks at once cannot both win,
 * and the approval, the transition, the commit intent (outbox) and their evidence commit together.
 */
export async function decideApproval(db: Db, isApprover: ApproverCheck, input: ApprovalInput): Promise<ApprovalOutcome> {
  const approver = `slack:${input.userId}`;
  const [preview] = await db.select().from(actions).where(eq(actions.id, input.actionId)).limit(1);
  if (!preview) return { kind: 'refused', reason: 'not-found', detail: 'no such action', action: null };
  const authorized = preview.approverGroup ? await isApprover(preview.approverGroup, input.userId) : false;

  return db.transaction(async (tx) => {
    const action = await lockAction(tx, input.actionId);
    if (!action) return { kind: 'refused', reason: 'not-found', detail: 'no such action', action: null } as const;
    const base = { actionId: action.id, correlationId: action.correlationId, agentId: action.agentId, policyVersion: action.policyVersion };
    const refuse = async (reason: RefusalReason, detail: string): Promise<ApprovalOutcome> => {
      await appendEvents(tx, [{ ...base, type: 'approval.refused', actor: approver, data: { verdict: input.verdict, reason, detail, status: action.status } }]);
      return { kind: 'refused', reason, detail, action };
    };

    if (action.status !== 'pending_approval') return refuse('not-pending', `this action is already ${action.status.replace('_', ' ')}`);
    if (action.expiresAt && action.expiresAt.getTime() <= Date.now()) return refuse('expired', 'this request has expired');
    if (input.shownPayloadHash !== action.payloadHash) {
      return refuse('stale-payload', 'the card you acted on does not show the payload now pending');
    }
    if (action.onBehalfOf && action.onBehalfOf === input.userId) {
      return refuse('requester', 'you requested this action (the agent acts on your behalf), so you cannot decide it');
    }
    if (!authorized) return refuse('not-authorized', `only members of ${action.approverGroup ?? '(no group)'} may decide this action`);

    const [inserted] = await tx
      .insert(approvals)
      .values({ id: newId('approval'), actionId: action.id, approver, verdict: input.verdict, reason: input.reason ?? null, payloadHash: input.shownPayloadHash })
      .onConflictDoNothing()
      .returning();
    if (!inserted) return refuse('duplicate', 'you have already answered this request');

    const all = await tx.select().from(approvals).where(eq(approvals.actionId, action.id));
    const approvers = all.filter((a) => a.verdict === 'approve').map((a) => a.approver);
    const required = Math.max(1, action.approvalsRequired);
    const recorded = {
      ...base,
      type: 'approval.recorded',
      actor: approver,
      data: { approval_id: inserted.id, verdict: input.verdict, reason: input.reason ?? null, payload_hash: input.shownPayloadHash, group: action.approverGroup, approvals: approvers.length, required },
    };

    if (input.verdict === 'deny') {
      const denied = await transitionAction(tx, action.id, ['pending_approval'], 'denied', { finishedAt: new Date(), failure: { reason: 'denied by approver', by: approver, why: input.reason ?? null } });
      await appendEvents(tx, [recorded, { ...base, type: 'action.denied', actor: approver, data: { by: approver, reason: input.reason ?? null } }]);
      return { kind: 'denied', action: denied! };
    }
    if (approvers.length < required) {
      await appendEvents(tx, [recorded]);
      return { kind: 'recorded', action, approvals: approvers.length, required };
    }
    const approved = await transitionAction(tx, action.id, ['pending_approval'], 'approved', {
      approvedAt: new Date(),
      approvedPayloadHash: action.payloadHash,
    });
    await tx.insert(commitOutbox).values({ actionId: action.id }).onConflictDoNothing();
    await appendEvents(tx, [
      recorded,
      { ...base, type: 'action.approved', actor: approver, data: { by: 'humans', approvers, quorum: required, group: action.approverGroup, payload_hash: action.payloadHash } },
    ]);
    return { kind: 'approved', action: approved!, approvers };
  });
}

export async function listApprovals(db: Db, actionId: string) {
  return db.select().from(approvals).where(and(eq(approvals.actionId, actionId))).orderBy(approvals.createdAt);
}
