import type { ClaimConflict, Decision } from './contract.ts';
import type { EvalScope } from './scope.ts';
import { renderValue } from './template.ts';

/**
 * The agent's claims (`context`) that contradict the fact of the same name (a bare name's resolution: the
 * executor's plan, then the params). A claim is never read by a condition; a contradicted one means the agent
 * describes an action other than the one that would run, and the request fails closed.
 */
export function claimConflicts(scope: EvalScope): ClaimConflict[] {
  const { context, plan, params } = scope.input;
  if (!context) return [];
  const conflicts: ClaimConflict[] = [];
  for (const key of Object.keys(context)) {
    const fromPlan = plan && Object.hasOwn(plan, key);
    const fromParams = !fromPlan && params !== undefined && Object.hasOwn(params, key);
    if (!fromPlan && !fromParams) continue;
    const actual = fromPlan ? plan![key] : params![key];
    const claimed = context[key];
    if (!sameValue(claimed, actual)) conflicts.push({ claim: `context.${key}`, fact: `${fromPlan ? 'plan' : 'params'}.${key}`, claimed, actual });
  }
  return conflicts;
}

export function conflictDecision(conflicts: readonly ClaimConflict[], version: string): Decision {
  const listed = conflicts.map((c) => `${c.claim} = ${renderValue(c.claimed)} but ${c.fact} = ${renderValue(c.actual)}`).join('; ');
  return {
    decision: 'deny',
    rule_id: null,
    reasoning: `the agent's claims contradict the facts (${listed}): failing closed`,
    escalation: null,
    policy_version: version,
    claim_conflicts: [...conflicts],
  };
}

/** JSON equality: same scalars, same arrays in order, same keys whatever their order. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((v, i) => sameValue(v, other[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameValue((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
