import type { AuditEventInput } from '../audit/append';
import type { BudgetOverrun } from '../controls/budgets';
import { DEFAULT_RELEASE_WINDOW_SECONDS, DEFAULT_TIMEOUT_SECONDS } from '../policy/schema/escalation';
import type { Planned } from './plan-status';
import type { NewAction } from './record';

/** "this would bring today's spend to 1,240 of 1,000 EUR", for the card, the agent and the evidence. */
export function describeOverrun(o: BudgetOverrun): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const period = o.window === 'task' ? "the task's total" : `today's total (${o.window} UTC)`;
  return `budget ${o.budget}: this would bring ${period} to ${n(o.would_be)} of ${n(o.max)}${o.unit ? ` ${o.unit}` : ''}`;
}

/**
 * A request that would exceed an `on_exceed: escalate` budget waits for a human instead of being refused. When
 * the policy already escalates, its approver group decides (the card shows the overrun); when the policy allows,
 * the budget's `via` group does (the first such budget by name). Approving admits this one action; nothing is
 * raised.
 */
export function overrunPlan(planned: Planned, overruns: BudgetOverrun[]): Planned {
  const note = overruns.map(describeOverrun).join('; ');
  const d = planned.decision;
  if (d.decision === 'escalate') return { status: 'pending_approval', decision: { ...d, reasoning: `${d.reasoning} — over budget: ${note}` } };
  const via = overruns[0]!.via;
  return {
    status: 'pending_approval',
    decision: {
      ...d,
      decision: 'escalate',
      reasoning: `${d.reasoning} — over budget: ${note}; an approval by ${via} admits this one action`,
      escalation: {
        requires: 'budget_overrun',
        via,
        approvals: 1,
        timeout_seconds: DEFAULT_TIMEOUT_SECONDS,
        on_timeout: 'deny',
        escalate_to: null,
        high_risk: false,
        release_window_seconds: DEFAULT_RELEASE_WINDOW_SECONDS,
      },
    },
  };
}

/** `budget.overrun` on the new action: which budgets it would exceed and who was asked instead of refusing it. */
export function overrunEvidence(row: NewAction, overruns: BudgetOverrun[]): AuditEventInput[] {
  return overruns.map((o) => ({
    type: 'budget.overrun',
    actor: 'system',
    actionId: row.id,
    correlationId: row.correlationId,
    agentId: row.agentId,
    policyVersion: row.policyVersion,
    data: { ...o, asked: row.approverGroup, detail: describeOverrun(o) },
  }));
}
