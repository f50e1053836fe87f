import type { FileConfig } from '../config/file-config';
import type { Decision } from '../policy';
import type { ActionStatus } from '../approvals/status';

export type Planned = { status: ActionStatus; decision: Decision };

/** What a decision makes of the request: its first status, and the decision as recorded. */
export function planAction(config: Pick<FileConfig, 'approver_groups'>, dryRun: boolean, decision: Decision): Planned {
  if (decision.decision === 'escalate') {
    const via = decision.escalation?.via;
    if (!via || !config.approver_groups[via]) {
      // An approval nobody can give is a denial: fail closed and say why.
      return {
        status: dryRun ? 'previewed' : 'denied',
        decision: {
          ...decision,
          decision: 'deny',
          reasoning: `${decision.reasoning} (approver group "${via ?? '(none)'}" is not configured: failing closed)`,
        },
      };
    }
  }
  if (dryRun) return { status: 'previewed', decision };
  const status: ActionStatus =
    decision.decision === 'allow' ? 'approved' : decision.decision === 'escalate' ? 'pending_approval' : 'denied';
  return { status, decision };
}
