import { ACTION_CLASS_PATTERN, type Decision, type PolicyBundle, type PolicyInput } from '../../../src/policy/index.ts';
import { checkRule, decisionFor, noMatch } from '../../../src/policy/evaluate.ts';
import { EvalScope } from '../../../src/policy/scope.ts';

/** The glob semantics written a second way (regular expressions) to check the trie against. */
export function globToRegExp(glob: string): RegExp {
  const segments = glob.split('.');
  const parts = segments.map((segment, i) => {
    if (segment !== '*') return segment;
    return i === segments.length - 1 ? '[a-z0-9_]+(?:\\.[a-z0-9_]+)*' : '[a-z0-9_]+';
  });
  return new RegExp(`^${parts.join('\\.')}$`);
}

/**
 * The reference evaluation: scan every rule in bundle order, no index. Conditions use the
 * engine's own checks: what is under test is candidate selection and precedence.
 */
export function naiveEvaluate(bundle: PolicyBundle, input: PolicyInput): Decision {
  const actionClass = input.action_class;
  if (!ACTION_CLASS_PATTERN.test(actionClass)) return { ...noMatch(actionClass, bundle.version), reasoning: 'invalid' };
  const scope = new EvalScope(input);
  const holding = bundle.rules.filter((rule) => rule.globs.some((glob) => globToRegExp(glob.text).test(actionClass)));
  for (const decision of ['deny', 'escalate', 'allow'] as const) {
    for (const rule of holding) {
      if (rule.decision !== decision) continue;
      const outcome = checkRule(rule, scope);
      if (outcome.holds) return decisionFor(rule, outcome.failedClosed, scope, bundle.version);
    }
  }
  return noMatch(actionClass, bundle.version);
}
