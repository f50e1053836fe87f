import { type Decision, type DecisionName, type PolicyInput } from './contract.ts';
import type { ConditionStatus } from './conditions/index.ts';
import type { CompiledRule } from './compiled-rule.ts';
import { checkRule, evaluateInScope, isValidActionClass } from './evaluate.ts';
import type { RuleIndex } from './rule-index.ts';
import { EvalScope } from './scope.ts';
import { CLAIM_SOURCE, FACT_SOURCES, compileParameterPath } from './parameter-path.ts';

/** `source`: where the value was read (params, plan, agent, requester, time, usage; context is never read). */
export type ConditionTrace = { type: string; parameter: string | null; source: string; status: ConditionStatus; detail: string };

export type RuleTrace = {
  rule_id: string;
  file: string;
  line: number;
  decision: DecisionName;
  /** The globs of this rule that match the action class. */
  matched_globs: string[];
  /** Whether the rule's conditions hold once fail-closed is applied. */
  holds: boolean;
  conditions: ConditionTrace[];
};

export type Explanation = {
  action_class: string;
  policy_version: string;
  decision: Decision;
  /** Every rule whose action_class matches, in bundle order. */
  considered: RuleTrace[];
  winner: string | null;
  why: string;
  /** Which fact sources this request carried, and the claims (context keys) it made. */
  facts: Record<string, string[]>;
};

/** Everything `evaluate` looked at, without short-circuiting, and why the winner won. */
export function explainWithIndex(index: RuleIndex, input: PolicyInput, version: string): Explanation {
  const actionClass = input.action_class;
  const scope = new EvalScope(input);
  const valid = isValidActionClass(actionClass);
  const candidates = valid ? index.candidates(actionClass) : [];
  const decision = evaluateInScope(index, scope, version);
  const segments = valid ? actionClass.split('.') : [];
  const considered = [...candidates]
    .sort((a, b) => a.order - b.order)
    .map((rule) => trace(rule, scope, segments));
  return {
    action_class: actionClass,
    policy_version: version,
    decision,
    considered,
    winner: decision.rule_id,
    why: decision.claim_conflicts
      ? `the agent's claims contradict the facts, so the request is denied before any rule is consulted`
      : valid
        ? why(decision, considered)
        : `${JSON.stringify(actionClass)} is not a valid action class, so it is denied before any rule is consulted`,
    facts: factSummary(input),
  };
}

function trace(rule: CompiledRule, scope: EvalScope, segments: readonly string[]): RuleTrace {
  return {
    rule_id: rule.id,
    file: rule.file,
    line: rule.line,
    decision: rule.decision,
    matched_globs: rule.globs.filter((glob) => globMatches(glob.segments, glob.tail, segments)).map((glob) => glob.text),
    holds: checkRule(rule, scope).holds,
    conditions: rule.conditions.map((condition) => ({
      type: condition.type,
      parameter: condition.parameter,
      source: condition.parameter === null ? 'time' : scope.sourceOf(compileParameterPath(condition.parameter)),
      status: condition.test(scope),
      detail: condition.describe(scope),
    })),
  };
}

function factSummary(input: PolicyInput): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const source of [...FACT_SOURCES, CLAIM_SOURCE] as const) {
    const value = source === 'time' ? undefined : input[source];
    if (value && typeof value === 'object') out[source === CLAIM_SOURCE ? 'context (claims, never read)' : source] = Object.keys(value);
  }
  return out;
}

function why(decision: Decision, considered: readonly RuleTrace[]): string {
  if (considered.length === 0) return `no rule's action_class matches, so the default applies: deny`;
  const holding = considered.filter((rule) => rule.holds);
  if (holding.length === 0) {
    return `${considered.length} rule(s) match the action class but none has all its conditions holding, so the default applies: deny`;
  }
  const others = holding.filter((rule) => rule.rule_id !== decision.rule_id);
  const sameDecision = others.filter((rule) => rule.decision === decision.decision);
  const weaker = others.filter((rule) => rule.decision !== decision.decision);
  const parts = [`${decision.rule_id} decides ${decision.decision}`];
  if (weaker.length > 0) {
    parts.push(`${decision.decision} beats ${[...new Set(weaker.map((rule) => rule.decision))].join(' and ')} (${weaker.map((rule) => rule.rule_id).join(', ')})`);
  }
  if (sameDecision.length > 0) {
    parts.push(`it comes first in bundle order among the ${decision.decision} rules that hold (also: ${sameDecision.map((rule) => rule.rule_id).join(', ')})`);
  }
  if (others.length === 0) parts.push('it is the only matching rule whose conditions hold');
  return parts.join('; ');
}

/** Plain segment matching, for reporting which glob of a candidate rule matched. */
export function globMatches(pattern: readonly string[], tail: boolean, segments: readonly string[]): boolean {
  const fixed = tail ? pattern.length - 1 : pattern.length;
  if (tail ? segments.length < pattern.length : segments.length !== pattern.length) return false;
  for (let i = 0; i < fixed; i++) if (pattern[i] !== '*' && pattern[i] !== segments[i]) return false;
  return true;
}
