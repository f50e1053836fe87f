import { and, eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/client';
import { actions, agents, budgetReservations, type ActionRow } from '../db/schema';
import type { FileConfig } from '../config/file-config';
import { appendEvents } from '../audit/append';
import { contractViolations } from '../contracts/validate';
import { budgetOverruns, drawBudgets, settleCounters, type BudgetOverrun } from '../controls/budgets';
import { describeOverrun } from '../intake/budget-overrun';
import { findExecutor } from '../executor/registry';
import { prepareForIntake, type Prepared } from '../executor/prepare';
import { payloadHash } from '../intake/payload-hash';
import { planAction } from '../intake/plan-status';
import { storedPolicyInput } from '../release';
import { findJsonFlaw } from '../lib/json-guard';
import { isProblem } from '../lib/errors';
import type { PolicyBundle } from '../policy';
import { decideApproval, precheckApproval, type ApprovalOutcome, type ApproverCheck } from './decide';
import { diffJson, paramsDiff } from './diff';
import { decidingGroups } from './escalation';
import { lockAction } from './transition';

export type EditDeps = {
  db: Db;
  policy: { current(): PolicyBundle };
  config: Pick<FileConfig, 'executors' | 'approver_groups' | 'budgets'>;
  approverStanding: ApproverCheck;
};

export type EditInput = {
  actionId: string;
  /** Slack user id of the approver who edits. */
  userId: string;
  /** The payload hash on the card the approver edited from. */
  shownPayloadHash: string;
  params: Record<string, unknown>;
  reason?: string | null;
};

export type EditOutcome =
  /** The edit cannot be accepted as it is (contract, policy, budget): nothing changed; `message` says why. */
  | { kind: 'invalid'; code: 'bad-json' | 'contract-violation' | 'policy-denies' | 'budget-exhausted' | 'prepare-failed'; message: string }
  | Extract<ApprovalOutcome, { kind: 'refused' }>
  /** The edit needs another approver group (or a confirmed high-risk approval): recorded, and the card goes there. */
  | { kind: 'rerouted'; action: ActionRow; to: string; previousCard: { channel: string; ts: string } | null }
  /** The edit is recorded and the editor's approval counted on the new payload. */
  | { kind: 'edited'; action: ActionRow; approval: ApprovalOutcome };

/** What `actions.edited` keeps: the agent's own request, who changed it and how. */
export type EditRecord = {
  by: string;
  at: string;
  reason: string | null;
  original_params: Record<string, unknown>;
  original_payload_hash: string;
  changes: Array<Record<string, unknown>>;
};

async function refuseEdit(db: Db, action: ActionRow, userId: string, code: string, detail: string): Promise<void> {
  await appendEvents(db, [
    {
      type: 'approval.edit_refused',
      actor: `slack:${userId}`,
      actionId: action.id,
      correlationId: action.correlationId,
      agentId: action.agentId,
      policyVersion: action.policyVersion,
      data: { reason: code, detail },
    },
  ]);
}

/**
 * Gives back the action's reservations and reserves for the edited payload, in the edit's transaction. Budgets
 * that ask (`on_exceed: escalate`) may be exceeded: the action is waiting for a person anyway, and the overruns
 * returned are what its card shows from now on.
 */
async function reserveAgain(
  tx: Tx,
  config: EditDeps['config'],
  action: ActionRow,
  params: Record<string, unknown>,
  plan: Record<string, unknown> | null,
  agentName: string,
): Promise<BudgetOverrun[]> {
  // The reservations of the payload as it was are replaced (one row per action and budget): removed here and
  // their amounts given back to the counters, then reserved anew for the edited payload.
  const released = await tx
    .delete(budgetReservations)
    .where(and(eq(budgetReservations.actionId, action.id), eq(budgetReservations.state, 'reserved')))
    .returning();
  await settleCounters(
    tx,
    released.map((r) => ({ budget: r.budget, scopeKey: r.scopeKey, window: r.window, amount: r.amount, state: 'released' as const })),
  );
  const subject = { agentId: action.agentId, agentName, actionClass: action.actionClass, taskId: action.taskId, params, plan };
  const overruns = (await budgetOverruns(tx, config, subject)).map((o) => ({ ...o, detail: describeOverrun(o) }));
  await drawBudgets(tx, config, subject, action.id, 'reserve', new Set(overruns.map((o) => o.budget)));
  return overruns;
}

/**
 * "Edit and approve" (docs/agent-controls.md, "Approve with edits"). The approver must be allowed to decide the
 * action now. The edited params are validated by the tool contract, re-prepared where the executor prepares,
 * decided again by the policy on the same facts, and hashed anew; the action then carries the new payload and
 * the editor's approval counts for the new hash only. An edit can never lower the bar: a deny refuses the
 * edit, an allow still needs the editor's approval, another group or a high-risk rule sends the card there.
 */
export async function editAndApprove(deps: EditDeps, input: EditInput): Promise<EditOutcome> {
  const pre = await precheckApproval(deps.db, deps.approverStanding, { actionId: input.actionId, userId: input.userId, verdict: 'approve', shownPayloadHash: input.shownPayloadHash });
  if (pre.kind === 'refused') return pre;
  const action = pre.action;
  const invalid = async (code: Extract<EditOutcome, { kind: 'invalid' }>['code'], message: string): Promise<EditOutcome> => {
    await refuseEdit(deps.db, action, input.userId, code, message);
    return { kind: 'invalid', code, message };
  };

  const flaw = findJsonFlaw(input.params);
  if (flaw) return invalid('bad-json', `${flaw.path.join('.')}: ${flaw.message}`);
  const executor = action.executor ? findExecutor(deps.config, action.executor) : undefined;
  if (!executor) return invalid('contract-violation', `executor ${action.executor ?? '(none)'} is not configured`);
  const violations = contractViolations(executor, action.actionClass, input.params);
  if (violations.length) return invalid('contract-violation', violations.map((v) => `${v.path}: ${v.message}`).join('; '));

  const changes = paramsDiff(action.params, input.params);
  // Nothing changed: this is a plain approval of what is shown.
  if (changes.length === 0) {
    const approval = await decideApproval(deps.db, deps.approverStanding, { actionId: action.id, userId: input.userId, verdict: 'approve', reason: input.reason ?? null, shownPayloadHash: input.shownPayloadHash });
    return approval.kind === 'refused' ? approval : { kind: 'edited', action: approval.action, approval };
  }

  let prepared: Prepared | null = null;
  if (executor.prepare_url) {
    try {
      prepared = await prepareForIntake(executor, {
        action_id: action.id,
        action_class: action.actionClass,
        params: input.params,
        payload_hash: payloadHash({ action_class: action.actionClass, params: input.params, context: action.context, executor: executor.name }),
        idempotency_key: action.id,
        agent_idempotency_key: action.idempotencyKey,
        correlation_id: action.correlationId,
      });
    } catch (err) {
      return invalid('prepare-failed', `the executor could not prepare the edited request: ${isProblem(err) ? err.message : (err as Error).message}`);
    }
  }
  const facts: Record<string, unknown> = { ...((action.facts ?? {}) as Record<string, unknown>), plan: prepared ? prepared.facts : ((action.facts as { plan?: unknown } | null)?.plan ?? null) };
  delete facts.claim_conflicts;
  const bundle = deps.policy.current();
  const decision = bundle.evaluate(storedPolicyInput({ actionClass: action.actionClass, params: input.params, context: action.context, facts }));
  const planned = planAction(deps.config, false, decision);
  if (planned.decision.decision === 'deny') {
    return invalid('policy-denies', `the policy denies the edited request (${planned.decision.rule_id ?? 'no rule matched'}): ${planned.decision.reasoning}`);
  }
  if (decision.claim_conflicts) facts.claim_conflicts = decision.claim_conflicts;

  // An allow keeps the action's own escalation: an edit never lowers the bar below what was asked of the approvers.
  const escalation = planned.decision.decision === 'escalate' ? planned.decision.escalation! : null;
  const newGroup = escalation ? escalation.via : action.approverGroup;
  const rerouted = !!escalation && (!decidingGroups(action).includes(escalation.via) || escalation.high_risk);
  const planHash = prepared?.plan_hash ?? action.planHash;
  const hash = payloadHash({ action_class: action.actionClass, params: input.params, context: action.context, executor: action.executor, plan_hash: planHash });
  const previous = action.edited as EditRecord | null;
  const record: EditRecord = {
    by: `slack:${input.userId}`,
    at: new Date().toISOString(),
    reason: input.reason ?? null,
    // Edited twice: what the agent asked stays the original.
    original_params: previous?.original_params ?? action.params,
    original_payload_hash: previous?.original_payload_hash ?? action.payloadHash,
    changes: diffJson(paramsDiff(previous?.original_params ?? action.params, input.params)),
  };

  const [agentRow] = await deps.db.select({ name: agents.name }).from(agents).where(eq(agents.id, action.agentId)).limit(1);
  const outcome = await deps.db
    .transaction(async (tx) => {
      const locked = await lockAction(tx, action.id);
      if (!locked || locked.status !== 'pending_approval' || locked.payloadHash !== input.shownPayloadHash) return 'stale' as const;
      const overruns = await reserveAgain(tx, deps.config, locked, input.params, facts.plan as Record<string, unknown> | null, agentRow?.name ?? '');
      if (overruns.length) facts.budget_overrun = overruns;
      else delete facts.budget_overrun;
      const [updated] = await tx
            .update(actions)
            .set({
              params: input.params,
              payloadHash: hash,
              planHash,
              prepared: (prepared ?? locked.prepared) as Record<string, unknown> | null,
              facts,
              edited: record as unknown as Record<string, unknown>,
              ...(escalation
                ? {
                    ruleId: planned.decision.rule_id,
                    reasoning: planned.decision.reasoning,
                    policyVersion: planned.decision.policy_version,
                    escalation: escalation as unknown as Record<string, unknown>,
                    approverGroup: escalation.via,
                    // Within the same group an edit never needs fewer approvals than the request as asked.
                    approvalsRequired: rerouted ? escalation.approvals : Math.max(escalation.approvals, locked.approvalsRequired),
                  }
                : {}),
              ...(rerouted ? { slackChannel: null, slackTs: null, escalatedAt: null, escalationSlackChannel: null, escalationSlackTs: null } : {}),
              updatedAt: sql`now()`,
            })
            .where(and(eq(actions.id, locked.id), eq(actions.status, 'pending_approval')))
            .returning();
      await appendEvents(tx, [
        {
          type: 'action.edited',
          actor: `slack:${input.userId}`,
          actionId: locked.id,
          correlationId: locked.correlationId,
          agentId: locked.agentId,
          policyVersion: planned.decision.policy_version,
          data: {
            reason: input.reason ?? null,
            previous_payload_hash: locked.payloadHash,
            payload_hash: hash,
            ...(planHash !== locked.planHash ? { plan_hash: planHash } : {}),
            original_params: record.original_params,
            params: input.params,
            changes: diffJson(changes),
            decision: planned.decision.decision,
            rule_id: planned.decision.rule_id,
            reasoning: planned.decision.reasoning,
            ...(rerouted ? { rerouted_to: newGroup } : {}),
          },
        },
      ]);
      return { row: updated!, previousCard: locked.slackChannel && locked.slackTs ? { channel: locked.slackChannel, ts: locked.slackTs } : null };
    })
    .catch(async (err: unknown) => {
      if (isProblem(err) && err.code === 'budget-exhausted') return { budget: err.message };
      throw err;
    });
  if (outcome === 'stale') return { kind: 'refused', reason: 'stale-payload', detail: 'the card you edited from no longer shows the payload now pending', action };
  if ('budget' in outcome) return invalid('budget-exhausted', `the edited request does not fit its budget: ${outcome.budget}`);
  if (rerouted) return { kind: 'rerouted', action: outcome.row, to: newGroup ?? '?', previousCard: outcome.previousCard };
  const approval = await decideApproval(deps.db, deps.approverStanding, { actionId: action.id, userId: input.userId, verdict: 'approve', reason: input.reason ?? null, shownPayloadHash: hash });
  return { kind: 'edited', action: approval.action ?? outcome.row, approval };
}
