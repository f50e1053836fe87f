// Translates a Countersign bundle into an equivalent Cedar policy set, and decides with cedar-wasm.
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { DecisionName, PolicyBundle, PolicyInput } from '../src/policy/index.ts';

type RuleInfo = PolicyBundle['rules'][number];

export type CedarEngine = {
  version: string;
  /** The request in Cedar's shape (a real adapter would build it per request; the benchmark builds it before timing). */
  prepare(input: PolicyInput): object;
  decide(request: object): { decision: DecisionName; rule_id: string | null };
};

const MAX_SEGMENTS = 6;
/** The facts the translated conditions read, and the Cedar type each must have to be read at all. */
const TYPED_FACTS: Record<string, (v: unknown) => boolean> = {
  // A count is a whole number; negatives are passed on (the translated condition fails them closed itself).
  target_count: (v) => typeof v === 'number' && Number.isSafeInteger(v),
  amount: (v) => typeof v === 'number' && Number.isSafeInteger(v),
  environment: (v) => typeof v === 'string',
};
/**
 * The fail-closed branches that precede every rule in Countersign, as Cedar forbids of their own. Their ids
 * are not rule ids: a decision they determine has rule_id null, as Countersign's has.
 */
const CLAIMS = '__claim_conflict';
const INVALID_CLASS = '__invalid_action_class';
// Written independently of src/policy/contract.ts on purpose: the spec (docs/policy.md), not the code.
const VALID_CLASS = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;

/**
 * deny → `forbid`; escalate and allow → `permit`. Cedar answers deny/allow with the ids of the
 * policies that determined it, from which the three-way decision is rebuilt: any forbid wins
 * (first in bundle order), else any escalate permit, else any allow permit, else default deny.
 *
 * Fail-closed inputs are modelled the way Cedar can express them: a fact of the wrong type for the condition
 * that reads it is left out of the request, so it reads as missing (Countersign fails a mistyped value closed
 * exactly as a missing one); a claim in `context` is compared with the fact of the same name by a forbid;
 * an action class that is not valid is refused by a forbid.
 */
export function cedarEngine(bundle: PolicyBundle, setId: string): CedarEngine {
  const order = new Map(bundle.rules.map((rule) => [rule.id, rule]));
  const staticPolicies: Record<string, string> = {};
  staticPolicies[CLAIMS] = `forbid(principal, action, resource) when { ${Object.keys(TYPED_FACTS)
    .map((k) => `(context.claims has ${k} && context.claims.${k} != context.facts.${k})`)
    .join(' || ')} };`;
  staticPolicies[INVALID_CLASS] = 'forbid(principal, action, resource) when { !context.valid_class };';
  for (const rule of bundle.rules) staticPolicies[rule.id] = translateRule(rule);
  const parsed = cedar.preparsePolicySet(setId, { staticPolicies });
  if (parsed.type !== 'success') throw new Error(`cedar refused the translated policies: ${JSON.stringify(parsed.errors).slice(0, 500)}`);
  const base = { principal: { type: 'Agent', id: 'bench' }, action: { type: 'Action', id: 'evaluate' }, resource: { type: 'Resource', id: 'request' }, entities: [], preparsedPolicySetId: setId };

  return {
    version: cedar.getCedarVersion(),
    prepare(input) {
      const actionClass = String(input.action_class);
      const segments = actionClass.split('.');
      const context: Record<string, unknown> = { cls: actionClass, n: segments.length, valid_class: VALID_CLASS.test(actionClass) };
      for (let i = 0; i < MAX_SEGMENTS; i++) context[`s${i}`] = segments[i] ?? '';
      // Bare names read the executor's plan first, then the params (src/policy/scope.ts).
      const facts: Record<string, unknown> = { ...input.params, ...input.plan };
      for (const [key, typed] of Object.entries(TYPED_FACTS)) if (facts[key] !== undefined && typed(facts[key])) context[key] = facts[key];
      // A claim is compared with the fact of its name, when there is one (scalars only: JSON text equality).
      const claims: Record<string, string> = {};
      const claimed: Record<string, string> = {};
      for (const [key, value] of Object.entries(input.context ?? {})) {
        if (!Object.hasOwn(facts, key)) continue;
        if (!(key in TYPED_FACTS) || (value !== null && typeof value === 'object')) throw new Error(`the Cedar translation compares scalar claims of ${Object.keys(TYPED_FACTS).join(', ')} only, not ${key}`);
        claims[key] = JSON.stringify(value);
        claimed[key] = JSON.stringify(facts[key]);
      }
      context.claims = claims;
      context.facts = claimed;
      return { ...base, context };
    },
    decide(request) {
      const answer = cedar.statefulIsAuthorized(request as cedar.StatefulAuthorizationCall);
      if (answer.type !== 'success') throw new Error(`cedar failed: ${JSON.stringify(answer.errors)}`);
      const { decision, diagnostics } = answer.response;
      if (diagnostics.errors.length > 0) throw new Error(`cedar policy errors: ${JSON.stringify(diagnostics.errors[0])}`);
      if (diagnostics.reason.includes(CLAIMS) || diagnostics.reason.includes(INVALID_CLASS)) return { decision: 'deny', rule_id: null };
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
