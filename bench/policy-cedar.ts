// Translates a Countersign bundle into an equivalent Cedar policy set, and decides with cedar-wasm.
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { DecisionName, PolicyBundle, PolicyInput } from '../src/policy/index.ts';

type RuleInfo = PolicyBundle['rules'][number];

export type CedarEngine = {
  version: string;
  /** The request in Cedar's shape, built outside the timed loop (as a real adapter would cache it per class). */
  prepare(input: PolicyInput): object;
  decide(request: object): { decision: DecisionName; rule_id: string | null };
};

const MAX_SEGMENTS = 6;

/**
 * deny → `forbid`; escalate and allow → `permit`. Cedar answers deny/allow with the ids of the
 * policies that determined it, from which the three-way decision is rebuilt: any forbid wins
 * (first in bundle order), else any escalate permit, else any allow permit, else default deny.
 */
export function cedarEngine(bundle: PolicyBundle, setId: string): CedarEngine {
  const order = new Map(bundle.rules.map((rule) => [rule.id, rule]));
  const staticPolicies: Record<string, string> = {};
  for (const rule of bundle.rules) staticPolicies[rule.id] = translateRule(rule);
  const parsed = cedar.preparsePolicySet(setId, { staticPolicies });
  if (parsed.type !== 'success') throw new Error(`cedar refused the translated policies: ${JSON.stringify(parsed.errors).slice(0, 500)}`);
  const base = { principal: { type: 'Agent', id: 'bench' }, action: { type: 'Action', id: 'evaluate' }, resource: { type: 'Resource', id: 'request' }, entities: [], preparsedPolicySetId: setId };

  return {
    version: cedar.getCedarVersion(),
    prepare(input) {
      const segments = input.action_class.split('.');
      const context: Record<string, unknown> = { cls: input.action_class, n: segments.length };
      for (let i = 0; i < MAX_SEGMENTS; i++) context[`s${i}`] = segments[i] ?? '';
      // Bare names read the executor's plan first, then the params (src/policy/scope.ts).
      const facts = { ...input.params, ...input.plan };
      for (const key of ['target_count', 'amount', 'environment']) if (facts[key] !== undefined) context[key] = facts[key];
      return { ...base, context };
    },
    decide(request) {
      const answer = cedar.statefulIsAuthorized(request as cedar.StatefulAuthorizationCall);
      if (answer.type !== 'success') throw new Error(`cedar failed: ${JSON.stringify(answer.errors)}`);
      const { decision, diagnostics } = answer.response;
      if (diagnostics.errors.length > 0) throw new Error(`cedar policy errors: ${JSON.stringify(diagnostics.errors[0])}`);
      const rules = diagnostics.reason.map((id) => order.get(id)!).sort((a, b) => a.order - b.order);
      if (decision === 'deny') return { decision: 'deny', rule_id: rules[0]?.id ?? null };
      const winner = rules.find((rule) => rule.decision === 'escalate') ?? rules[0]!;
      return { decision: winner.decision, rule_id: winner.id };
    },
  };
}

function translateRule(rule: RuleInfo): string {
  const effect = rule.decision === 'deny' ? 'forbid' : 'permit';
  const match = rule.globs.map((glob) => `(${translateGlob(glob.segments, glob.tail)})`).join(' || ');
  const strict = rule.decision !== 'allow';
  const conditions = (rule.source.conditions ?? []).map((condition) => translateCondition(condition, strict));
  return `${effect}(principal, action, resource) when { (${match})${conditions.map((c) => ` && ${c}`).join('')} };`;
}

function translateGlob(segments: readonly string[], tail: boolean): string {
  const fixed = tail ? segments.length - 1 : segments.length;
  const literalPrefix = segments.slice(0, fixed).every((s) => s !== '*');
  if (!tail && literalPrefix) return `context.cls == "${segments.join('.')}"`;
  if (tail && literalPrefix) return `context.cls like "${segments.slice(0, fixed).join('.')}.*"`;
  const parts = [tail ? `context.n >= ${segments.length}` : `context.n == ${segments.length}`];
  for (let i = 0; i < fixed; i++) if (segments[i] !== '*') parts.push(`context.s${i} == "${segments[i]}"`);
  return parts.join(' && ');
}

type Condition = NonNullable<RuleInfo['source']['conditions']>[number];

/** Fail closed as the engine does: a missing parameter satisfies a deny/escalate condition, never an allow one. */
function translateCondition(condition: Condition, strict: boolean): string {
  if (condition.type === 'time_window') throw new Error('time windows have no Cedar equivalent here');
  if (condition.type === 'includes_any') throw new Error('includes_any has no Cedar equivalent here');
  const p = condition.parameter;
  if (p === undefined) throw new Error('counted blast radius has no Cedar equivalent here');
  const value = `context.${p}`;
  let test: string;
  switch (condition.type) {
    case 'blast_radius_max':
      // A negative count is not a count: it fails closed like a missing one (src/policy/conditions/blast-radius.ts).
      test = strict ? `(${value} < 0 || ${value} > ${condition.threshold})` : `(${value} >= 0 && ${value} > ${condition.threshold})`;
      break;
    case 'threshold': {
      const [op, bound] = (['gt', 'gte', 'lt', 'lte'] as const).map((k) => [k, condition[k]] as const).find(([, b]) => b !== undefined)!;
      test = `${value} ${{ gt: '>', gte: '>=', lt: '<', lte: '<=' }[op]} ${bound}`;
      break;
    }
    case 'in':
    case 'not_in': {
      const set = `[${condition.values.map((v) => JSON.stringify(v)).join(', ')}].contains(${value})`;
      test = condition.type === 'in' ? set : `!${set}`;
      break;
    }
  }
  return strict ? `(!(context has ${p}) || ${test})` : `(context has ${p} && ${test})`;
}
