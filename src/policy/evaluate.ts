import { ACTION_CLASS_PATTERN, type Decision, type PolicyInput } from './contract.ts';
import { compileParameterPath } from './parameter-path.ts';
import type { CompiledCondition, ConditionStatus } from './conditions/index.ts';
import { kindOf } from './conditions/compiled-condition.ts';
import type { CompiledRule } from './compiled-rule.ts';
import type { RuleIndex } from './rule-index.ts';
import { EvalScope } from './scope.ts';
import { claimConflicts, conflictDecision } from './claims.ts';
import { renderTemplate, renderValue } from './template.ts';

/** Why a rule's conditions hold: plainly, or only because a parameter was missing or mistyped. */
export type RuleOutcome = { holds: false } | { holds: true; failedClosed: readonly FailClosed[] };
export type FailClosed = { condition: CompiledCondition; status: 'missing' | 'mistyped' };

const HOLDS_CLEANLY: RuleOutcome = Object.freeze({ holds: true, failedClosed: Object.freeze([]) });
const DOES_NOT_HOLD: RuleOutcome = Object.freeze({ holds: false });

/**
 * All conditions must hold. A missing or mistyped parameter fails closed: the condition holds for
 * deny/escalate (the stricter rule applies) and does not hold for allow.
 */
export function checkRule(rule: CompiledRule, scope: EvalScope): RuleOutcome {
  let failedClosed: FailClosed[] | null = null;
  for (const condition of rule.conditions) {
    const status: ConditionStatus = condition.test(scope);
    if (status === 'holds') continue;
    if (status === 'fails' || rule.decision === 'allow') return DOES_NOT_HOLD;
    (failedClosed ??= []).push({ condition, status });
  }
  return failedClosed ? { holds: true, failedClosed } : HOLDS_CLEANLY;
}

/** Decides from candidates already in priority order: the first whose conditions hold wins. */
export function decideFromCandidates(candidates: readonly CompiledRule[], scope: EvalScope, version: string): Decision {
  for (const rule of candidates) {
    const outcome = checkRule(rule, scope);
    if (!outcome.holds) continue;
    if (rule.requiresRequester && rule.decision !== 'deny' && !scope.input.requester) return requesterMissing(rule, version);
    return decisionFor(rule, outcome.failedClosed, scope, version);
  }
  return noMatch(scope.input.action_class, version);
}

export function evaluateWithIndex(index: RuleIndex, input: PolicyInput, version: string): Decision {
  return evaluateInScope(index, new EvalScope(input), version);
}

/** Evaluation against a scope the caller keeps, so `explain` sees the same instant. */
export function evaluateInScope(index: RuleIndex, scope: EvalScope, version: string): Decision {
  const conflicts = claimConflicts(scope);
  if (conflicts.length > 0) return conflictDecision(conflicts, version);
  const actionClass = scope.input.action_class;
  const known = index.resolvedCandidates(actionClass);
  if (known !== undefined) return decideFromCandidates(known, scope, version);
  if (!isValidActionClass(actionClass)) return invalidClass(actionClass, version);
  return decideFromCandidates(index.candidates(actionClass), scope, version);
}

export function isValidActionClass(actionClass: unknown): actionClass is string {
  return typeof actionClass === 'string' && ACTION_CLASS_PATTERN.test(actionClass);
}

export function decisionFor(rule: CompiledRule, failedClosed: readonly FailClosed[], scope: EvalScope, version: string): Decision {
  let reasoning = rule.staticReasoning ?? renderTemplate(rule.template, scope);
  for (const entry of failedClosed) reasoning += ` ${failClosedNote(entry, scope)}`;
  return {
    decision: rule.decision,
    rule_id: rule.id,
    reasoning,
    escalation: rule.escalation,
    policy_version: version,
  };
}

/** "(target_count missing: failing closed)": the reader learns the rule applied for lack of data. */
export function failClosedNote({ condition, status }: FailClosed, scope: EvalScope): string {
  if (condition.parameter === null) return `(${condition.describe(scope)}: failing closed)`;
  if (status === 'missing') return `(${condition.parameter} missing: failing closed)`;
  const value = scope.lookup(compileParameterPath(condition.parameter));
  const { expects, got } = condition.mistyped?.(value) ?? { expects: condition.expects, got: kindOf(value) };
  return `(${condition.parameter} is not ${expects}, got ${got}: failing closed)`;
}

/** `requires_requester: true` and no validated human behind the request: the rule cannot apply, so deny. */
function requesterMissing(rule: CompiledRule, version: string): Decision {
  return {
    decision: 'deny',
    rule_id: rule.id,
    reasoning: `rule ${rule.id} requires a requester (on_behalf_of, a Slack user) and the request names none: failing closed`,
    escalation: null,
    policy_version: version,
  };
}

export function noMatch(actionClass: string, version: string): Decision {
  return {
    decision: 'deny',
    rule_id: null,
    reasoning: `no rule matched action class ${actionClass}`,
    escalation: null,
    policy_version: version,
  };
}

function invalidClass(actionClass: unknown, version: string): Decision {
  return {
    decision: 'deny',
    rule_id: null,
    reasoning: `action class ${renderValue(actionClass)} is not valid (expected dot-separated lowercase segments such as external_automation.job.run)`,
    escalation: null,
    policy_version: version,
  };
}
