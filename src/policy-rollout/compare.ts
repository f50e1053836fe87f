import type { Decision } from '../policy';

export type DisagreementKind = 'new-allow' | 'new-deny' | 'new-escalation' | 'approver-changed';

/**
 * How the candidate's decision differs from the enforced one, or null when they agree on what happens (a
 * different rule reaching the same decision with the same approvers is agreement). A new allow is high risk
 * when the enforced bundle denied the request or escalated it as high risk.
 */
export function compareDecisions(enforced: Decision, candidate: Decision): { kind: DisagreementKind; highRisk: boolean } | null {
  if (candidate.decision === 'allow' && enforced.decision !== 'allow') {
    return { kind: 'new-allow', highRisk: enforced.decision === 'deny' || enforced.escalation?.high_risk === true };
  }
  if (candidate.decision === 'deny' && enforced.decision !== 'deny') return { kind: 'new-deny', highRisk: false };
  if (candidate.decision === 'escalate' && enforced.decision !== 'escalate') return { kind: 'new-escalation', highRisk: enforced.decision === 'deny' };
  if (candidate.decision === 'escalate' && enforced.decision === 'escalate') {
    const a = enforced.escalation;
    const b = candidate.escalation;
    if (a?.via !== b?.via || a?.approvals !== b?.approvals || a?.high_risk !== b?.high_risk) return { kind: 'approver-changed', highRisk: a?.high_risk === true && b?.high_risk !== true };
  }
  return null;
}

export const decisionSummary = (d: Decision) => ({
  decision: d.decision,
  rule_id: d.rule_id,
  via: d.escalation?.via ?? null,
  approvals: d.escalation?.approvals ?? null,
  high_risk: d.escalation?.high_risk ?? null,
});
