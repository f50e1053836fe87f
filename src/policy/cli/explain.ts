import type { Explanation } from '../explain.ts';
import { readDecisionRequest } from './decision-request.ts';
import { EXIT_OK, type PolicyCliIo } from './io.ts';

export const EXPLAIN_USAGE = 'usage: countersign policy explain --policies DIR --input FILE|- [--json]\n';

/** Every rule that matched, which conditions held, and why the winner won. */
export async function runPolicyExplain(argv: string[], io: PolicyCliIo): Promise<number> {
  const request = await readDecisionRequest(argv, io, EXPLAIN_USAGE, { json: true });
  if (typeof request === 'number') return request;
  const explanation = request.bundle.explain(request.input);
  io.stdout(request.json ? `${JSON.stringify(explanation, null, 2)}\n` : renderExplanation(explanation));
  return EXIT_OK;
}

export function renderExplanation(explanation: Explanation): string {
  const { decision } = explanation;
  const lines = [
    `action class: ${explanation.action_class}`,
    `policy version: ${explanation.policy_version}`,
    `decision: ${decision.decision}${decision.rule_id ? ` by ${decision.rule_id}` : ' (no rule)'}`,
    `reasoning: ${decision.reasoning}`,
  ];
  if (decision.escalation) {
    const e = decision.escalation;
    lines.push(
      `escalation: via ${e.via}, ${e.approvals} approval(s), timeout ${e.timeout_seconds}s then ${e.on_timeout}` +
        (e.escalate_to ? `, escalate to ${e.escalate_to.via} after ${e.escalate_to.after_seconds}s` : '') +
        (e.high_risk ? ', high risk' : ''),
    );
  }
  lines.push('', `rules matching the action class (${explanation.considered.length}):`);
  for (const rule of explanation.considered) {
    const mark = rule.rule_id === explanation.winner ? '=>' : rule.holds ? ' +' : ' -';
    lines.push(`${mark} ${rule.rule_id} [${rule.decision}] ${rule.file}:${rule.line} via ${rule.matched_globs.join(', ')}: ${rule.holds ? 'holds' : 'does not hold'}`);
    for (const condition of rule.conditions) {
      lines.push(`     ${condition.status.padEnd(8)} ${condition.type}: ${condition.detail} [from ${condition.source}]`);
    }
  }
  lines.push('', 'facts by source:');
  for (const [source, keys] of Object.entries(explanation.facts)) lines.push(`   ${source}: ${keys.length ? keys.join(', ') : '(none)'}`);
  lines.push('', `why: ${explanation.why}`);
  return `${lines.join('\n')}\n`;
}
