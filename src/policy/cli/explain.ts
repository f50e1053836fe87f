import type { Explanation } from '../explain.ts';
import { parseCommandArgs } from './args.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type PolicyCliIo } from './io.ts';
import { loadBundleForCli } from './load-bundle.ts';
import { readPolicyInput } from './read-input.ts';

export const EXPLAIN_USAGE = 'usage: countersign policy explain --policies DIR --input FILE|- [--json]\n';

/** Every rule that matched, which conditions held, and why the winner won. */
export async function runPolicyExplain(argv: string[], io: PolicyCliIo): Promise<number> {
  const args = parseCommandArgs(argv, { policies: { type: 'string' }, input: { type: 'string' }, json: { type: 'boolean' } });
  if (!args.ok || !args.values.input || args.positionals.length > 0) {
    io.stderr(`${args.ok ? (args.positionals.length > 0 ? `unexpected argument ${args.positionals[0]}` : '--input is required') : args.message}\n${EXPLAIN_USAGE}`);
    return EXIT_USAGE;
  }
  const input = await readPolicyInput(args.values.input, io);
  if (!input.ok) {
    io.stderr(`${input.message}\n`);
    return EXIT_USAGE;
  }
  const bundle = await loadBundleForCli(args.values.policies ?? 'policies', io);
  if (!bundle) return EXIT_FAILURE;
  const explanation = bundle.explain(input.input);
  io.stdout(args.values.json ? `${JSON.stringify(explanation, null, 2)}\n` : renderExplanation(explanation));
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
    for (const condition of rule.conditions) lines.push(`     ${condition.status.padEnd(8)} ${condition.type}: ${condition.detail}`);
  }
  lines.push('', `why: ${explanation.why}`);
  return `${lines.join('\n')}\n`;
}
