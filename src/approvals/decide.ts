import { and, eq } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client';
import { actions, agents, approvals, commitOutbox, type ActionRow } from '../db/schema';
import { isSameSlackUser } from '../lib/slack-ids';
import { ownsAgent } from './self-approval';
import { appendEvents } from '../audit/append';
import { newId } from '../lib/ids';
import { confirmsHash, decidingGroups, storedEscalation, HASH_CONFIRM_LENGTH } from './escalation';
import { lockAction, transitionAction } from './transition';
import { createGrant, grantRequestProblem, type GrantRequest } from '../grants/store';

export type ApprovalVerdict = 'approve' | 'deny';

export type ApprovalInput = {
  actionId: string;
  /** Slack user id of the human who clicked. */
  userId: string;
  verdict: ApprovalVerdict;
  reason?: string | null;
  /** The payload hash on the card the human acted on. */
  shownPayloadHash: string;
  /** What the human typed to confirm the hash; required to approve a high-risk action. */
  confirmedHashPrefix?: string | null;
  /** "Approve this and similar": the standing grant this approver asks for (within the rule's limits). */
  grant?: GrantRequest | null;
};

export type RefusalReason =
  | 'not-authorized'
  | 'not-human'
  | 'requester'
  | 'owner'
  | 'stale-payload'
  | 'hash-not-confirmed'
  | 'not-pending'
  | 'duplicate'
  | 'expired'
  | 'grant-not-allowed'
  | 'not-found';

export type ApprovalOutcome =
  | { kind: 'recorded'; action: ActionRow; approvals: number; required: number }
  | { kind: 'approved'; action: ActionRow; approvers: string[]; grantId?: string | null }
  | { kind: 'denied'; action: ActionRow }
  | { kind: 'refused'; reason: RefusalReason; detail: string; action: ActionRow | null };

/** How a Slack user stands towards a set of approver groups (the directory answers; bots are never approvers). */
export type ApproverStanding = 'approver' | 'not-member' | 'not-human';
/**
 * A plain boolean means member (and human) or not: kept for simple checks in tests and tools. The directory
 * behind it may also say who is in a Slack user group, for agents whose owner is one (self-approval.ts).
 */
export type ApproverCheck = ((groups: readonly string[], userId: string) => Promise<ApproverStanding | boolean>) & {
  usergroupMembers?(usergroup: string): Promise<ReadonlySet<string>>;
};

type Refusal = { reason: RefusalReason; detail: string };

/**
 * The checks every answer passes, in order; the first that fails says why. `confirmation` is skipped when
 * the human has not been asked yet (a pre-check before a form opens).
 */
function refusalFor(action: ActionRow, input: ApprovalInput, standing: ApproverStanding, opts: { confirmation: boolean; isOwner: boolean }): Refusal | null {
  if (action.status !== 'pending_approval') return { reason: 'not-pending', detail: `this action is already ${action.status.replace('_', ' ')}` };
  if (action.expiresAt && action.expiresAt.getTime() <= Date.now()) return { reason: 'expired', detail: 'this request has expired' };
  if (input.shownPayloadHash !== action.payloadHash) {
    return { reason: 'stale-payload', detail: 'the card you acted on does not show the payload now pending' };
  }
  if (isSameSlackUser(action.onBehalfOf, input.userId)) {
    return { reason: 'requester', detail: 'you requested this action (the agent acts on your behalf), so you cannot decide it' };
  }
  if (opts.isOwner) return { reason: 'owner', detail: 'you own the agent that requested this action, so you cannot decide it' };
  if (standing === 'not-human') return { reason: 'not-human', detail: 'bots and agents cannot approve or deny actions' };
  if (standing !== 'approver') {
    return { reason: 'not-authorized', detail: `only members of ${decidingGroups(action).join(' or ') || '(no group)'} may decide this action` };
  }
  if (opts.confirmation && input.verdict === 'approve' && storedEscalation(action).highRisk && !confirmsHash(input.confirmedHashPrefix, action.payloadHash)) {
    return { reason: 'hash-not-confirmed', detail: `a high-risk action needs the first ${HASH_CONFIRM_LENGTH} characters of its payload hash typed to approve` };
  }
  if (input.grant && input.verdict === 'approve') {
    const problem = grantRequestProblem(action, input.grant);
    if (problem) return { reason: 'grant-not-allowed', detail: problem };
  }
  return null;
}

async function recordRefusal(tx: DbOrTx, action: ActionRow, input: ApprovalInput, refusal: Refusal): Promise<void> {
  await appendEvents(tx, [
    {
      type: 'approval.refused',
      actor: `slack:${input.userId}`,
      actionId: action.id,
      correlationId: action.correlationId,
      agentId: action.agentId,
      policyVersion: action.policyVersion,
      data: { verdict: input.verdict, reason: refusal.reason, detail: refusal.detail, status: action.status },
    },
  ]);
}

/**
 * Reads the action, the clicker's standing and whether they own the requesting agent, outside any transaction:
 * the directory may call Slack.
 */
async function standingFor(db: Db, isApprover: ApproverCheck, input: ApprovalInput) {
  const [preview] = await db.select().from(actions).where(eq(actions.id, input.actionId)).limit(1);
  if (!preview) return null;
  const groups = decidingGroups(preview);
  const answer = groups.length ? await isApprover(groups, input.userId) : false;
  const standing: ApproverStanding = answer === true ? 'approver' : answer === false ? 'not-member' : answer;
  const [agent] = await db.select({ owner: agents.owner }).from(agents).where(eq(agents.id, preview.agentId)).limit(1);
  const isOwner = await ownsAgent(agent?.owner ?? '', input.userId, isApprover.usergroupMembers);
  return { preview, standing, isOwner };
}

/**
 * Whether this human could answer this request now, before a form (deny reason, hash confirmation) is
 * shown to them. A refusal is recorded as evidence, exactly as if they had answered; nothing else changes.
 */
export async function precheckApproval(db: Db, isApprover: ApproverCheck, input: ApprovalInput): Promise<{ kind: 'ok'; action: ActionRow } | Extract<ApprovalOutcome, { kind: 'refused' }>> {
  const found = await standingFor(db, isApprover, input);
  if (!found) return { kind: 'refused', reason: 'not-found', detail: 'no such action', action: null };
  const { preview: action, standing, isOwner } = found;
  let refusal = refusalFor(action, input, standing, { confirmation: false, isOwner });
  if (!refusal) {
    const [already] = await db
      .select({ id: approvals.id })
      .from(approvals)
      .where(and(eq(approvals.actionId, action.id), eq(approvals.approver, `slack:${input.userId}`), eq(approvals.payloadHash, action.payloadHash)))
      .limit(1);
    if (already) refusal = { reason: 'duplicate', detail: 'you have already answered this request' };
  }
  if (!refusal) return { kind: 'ok', action };
  await db.transaction((tx) => recordRefusal(tx, action, input, refusal));
  return { kind: 'refused', ...refusal, action };
}

/**
 * Records a human's answer to a pending action. Authorisation is checked before the transaction (it may
 * call Slack); the state change itself is serialised by a row lock, so two clicks at once cannot both win,
 * and the approval, the transition, the commit intent (outbox) and their evidence commit together.
 */
export async function decideApproval(db: Db, isApprover: ApproverCheck, input: ApprovalInput): Promise<ApprovalOutcome> {
  const approver = `slack:${input.userId}`;
  const found = await standingFor(db, isApprover, input);
  if (!found) return { kind: 'refused', reason: 'not-found', detail: 'no such action', action: null };

  return db.transaction(async (tx) => {
    const action = await lockAction(tx, input.actionId);
    if (!action) return { kind: 'refused', reason: 'not-found', detail: 'no such action', action: null } as const;
    const base = { actionId: action.id, correlationId: action.correlationId, agentId: action.agentId, policyVersion: action.policyVersion };
    const refuse = async (refusal: Refusal): Promise<ApprovalOutcome> => {
      await recordRefusal(tx, action, input, refusal);
      return { kind: 'refused', ...refusal, action };
    };

    // The standing was read for the groups of the unlocked row; escalation only ever adds a group, so it still holds.
    const refusal = refusalFor(action, input, found.standing, { confirmation: true, isOwner: found.isOwner });
    if (refusal) return refuse(refusal);

    const [inserted] = await tx
      .insert(approvals)
      .values({
        id: newId('approval'),
        actionId: action.id,
        approver,
        verdict: input.verdict,
        reason: input.reason ?? null,
        payloadHash: input.shownPayloadHash,
        grantRequest: input.verdict === 'approve' ? (input.grant ?? null) : null,
      })
      .onConflictDoNothing()
      .returning();
    if (!inserted) return refuse({ reason: 'duplicate', detail: 'you have already answered this request' });

    // Only answers to the payload now pending count: an edit (src/approvals/edit.ts) makes earlier ones moot.
    const all = await tx.select().from(approvals).where(and(eq(approvals.actionId, action.id), eq(approvals.payloadHash, action.payloadHash)));
    const approving = all.filter((a) => a.verdict === 'approve');
    const approvers = approving.map((a) => a.approver);
    const required = Math.max(1, action.approvalsRequired);
    const hashConfirmed = input.verdict === 'approve' && storedEscalation(action).highRisk;
    const recorded = {
      ...base,
      type: 'approval.recorded',
      actor: approver,
      data: {
        approval_id: inserted.id,
        verdict: input.verdict,
        reason: input.reason ?? null,
        payload_hash: input.shownPayloadHash,
        group: action.approverGroup,
        approvals: approvers.length,
        required,
        ...(hashConfirmed ? { hash_confirmed: true } : {}),
        ...(input.grant && input.verdict === 'approve' ? { grant_requested: input.grant } : {}),
      },
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
    // An approved budget overrun (on_exceed: escalate) admits this one action: an exception on the record.
    const overruns = (action.facts as { budget_overrun?: Array<Record<string, unknown>> } | null)?.budget_overrun;
    if (overruns?.length) {
      await appendEvents(tx, [
        {
          ...base,
          type: 'exception_record',
          actor: approver,
          data: {
            kind: 'budget_overrun',
            detail: overruns.map((o) => String(o.detail ?? `budget ${String(o.budget)}: ${String(o.would_be)} of ${String(o.max)}`)).join('; '),
            budgets: overruns,
            approvers,
            mitigation: 'admitted this one action by human approval; the budget is unchanged',
          },
        },
      ]);
    }
    const grant = await createGrant(tx, approved!, approving);
    return { kind: 'approved', action: approved!, approvers, grantId: grant?.id ?? null };
  });
}

export async function listApprovals(db: DbOrTx, actionId: string) {
  return db.select().from(approvals).where(eq(approvals.actionId, actionId)).orderBy(approvals.createdAt);
}
