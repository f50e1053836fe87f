import type { DecisionName, Escalation } from './contract.ts';
import { compileCondition, type CompiledCondition } from './conditions/index.ts';
import { parseGlob, type Glob } from './glob.ts';
import type { Rule } from './schema/rule.ts';
import {
  DEFAULT_RELEASE_WINDOW_SECONDS,
  DEFAULT_REQUIRES,
  DEFAULT_TIMEOUT_SECONDS,
  type EscalationFile,
} from './schema/escalation.ts';
import { parseTemplate, type TemplatePart } from './template.ts';

/** deny beats escalate beats allow. */
export const DECISION_RANK: Record<DecisionName, number> = { deny: 0, escalate: 1, allow: 2 };

/** A rule ready to evaluate: globs parsed, conditions compiled, defaults applied, position kept. */
export type CompiledRule = {
  readonly id: string;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Position in bundle order: files sorted by name, rules in file order. */
  readonly order: number;
  /** Sort key: decision rank first, then bundle order; the first candidate whose conditions hold wins. */
  readonly priority: number;
  readonly decision: DecisionName;
  readonly globs: readonly Glob[];
  readonly conditions: readonly CompiledCondition[];
  readonly reasoning: string;
  readonly template: readonly TemplatePart[];
  /** The reasoning when it has no `${}` slots, so the common case allocates nothing. */
  readonly staticReasoning: string | null;
  readonly templateNames: readonly string[];
  readonly escalation: Escalation | null;
  /** Deny instead when no validated human stands behind the request. */
  readonly requiresRequester: boolean;
  /** The rule as validated from the file, for tools that translate or display it. */
  readonly source: Rule;
};

export type RuleSource = { file: string; line: number; column: number; order: number };

/** Compiles a rule the schema has already validated (so globs and templates parse). */
export function compileRule(rule: Rule, source: RuleSource): CompiledRule {
  const globs = rule.applies_to.action_class.map((text) => {
    const parsed = parseGlob(text);
    if (!parsed.ok) throw new Error(`bug: unvalidated glob ${text}`);
    return parsed.glob;
  });
  const template = parseTemplate(rule.reasoning);
  if (!template.ok) throw new Error(`bug: unvalidated template in ${rule.id}`);
  const isStatic = template.parts.every((part) => typeof part === 'string');
  return Object.freeze({
    id: rule.id,
    ...source,
    priority: DECISION_RANK[rule.decision] * 2 ** 32 + source.order,
    decision: rule.decision,
    globs,
    conditions: (rule.conditions ?? []).map(compileCondition),
    reasoning: rule.reasoning,
    template: template.parts,
    staticReasoning: isStatic ? rule.reasoning : null,
    templateNames: template.names,
    escalation: rule.escalation ? normaliseEscalation(rule.escalation) : null,
    requiresRequester: rule.requires_requester ?? false,
    source: rule,
  });
}

function normaliseEscalation(escalation: EscalationFile): Escalation {
  return Object.freeze({
    requires: escalation.requires ?? DEFAULT_REQUIRES,
    via: escalation.via,
    approvals: escalation.approvals ?? 1,
    timeout_seconds: escalation.timeout ?? DEFAULT_TIMEOUT_SECONDS,
    on_timeout: 'deny' as const,
    escalate_to: escalation.escalate_to
      ? Object.freeze({ via: escalation.escalate_to.via, after_seconds: escalation.escalate_to.after })
      : null,
    high_risk: escalation.high_risk ?? false,
    release_window_seconds: escalation.release_window ?? DEFAULT_RELEASE_WINDOW_SECONDS,
    ...(escalation.standing
      ? {
          standing: Object.freeze({
            max_duration_seconds: escalation.standing.max_duration,
            max_count: escalation.standing.max_count,
            variable: escalation.standing.variable,
          }),
        }
      : {}),
  });
}

export function byPriority(a: CompiledRule, b: CompiledRule): number {
  return a.priority - b.priority;
}
