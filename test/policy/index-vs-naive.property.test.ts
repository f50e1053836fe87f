import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { loadPolicyBundleFromFiles, type PolicyInput } from '../../src/policy/index.ts';
import { globCovers, globIntersection } from '../../src/policy/glob-relations.ts';
import { parseGlob, type Glob } from '../../src/policy/glob.ts';
import { globToRegExp, naiveEvaluate } from './support/naive.ts';

// A tiny alphabet so random globs and classes collide often.
const segment = fc.constantFrom('a', 'b', 'c', 'd');
const globSegment = fc.oneof({ weight: 3, arbitrary: segment }, { weight: 1, arbitrary: fc.constant('*') });
const glob = fc
  .array(globSegment, { minLength: 1, maxLength: 4 })
  .map((segments) => segments.join('.'))
  .filter((text) => parseGlob(text).ok);
const actionClass = fc.oneof(
  { weight: 9, arbitrary: fc.array(segment, { minLength: 2, maxLength: 5 }).map((s) => s.join('.')) },
  { weight: 1, arbitrary: fc.constantFrom('a', 'A.b', 'a..b', '') },
);

const condition = fc.oneof(
  fc.record({ type: fc.constant('blast_radius_max'), parameter: fc.constant('n'), threshold: fc.integer({ min: 0, max: 10 }) }),
  fc.record({ type: fc.constant('threshold'), parameter: fc.constant('amount'), gt: fc.integer({ min: 0, max: 10 }) }),
  fc.record({ type: fc.constant('in'), parameter: fc.constant('env'), values: fc.constant(['prod']) }),
  fc.record({ type: fc.constant('not_in'), parameter: fc.constant('env'), values: fc.constant(['prod']) }),
);

const rule = fc.record({
  globs: fc.array(glob, { minLength: 1, maxLength: 3 }),
  decision: fc.constantFrom('allow', 'deny', 'escalate'),
  conditions: fc.array(condition, { maxLength: 2 }),
});

const bundleSpec = fc.array(fc.array(rule, { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 3 });

const value = fc.oneof(fc.integer({ min: -2, max: 12 }), fc.constant(undefined), fc.constantFrom('5', null, 'prod', 'dev'));
const input = fc.record({
  action_class: actionClass,
  plan: fc.record({ n: value, amount: value, env: value }, { requiredKeys: [] }),
  params: fc.option(fc.record({ n: value, env: value }, { requiredKeys: [] }), { nil: undefined }),
});

function buildBundle(files: { globs: string[]; decision: string; conditions: object[] }[][]) {
  let id = 0;
  const sources = files.map((rules, f) => ({
    path: `p${f}.yaml`,
    text: stringify({
      name: `p${f}`,
      version: '1',
      rules: rules.map((r) => ({
        id: `r${id++}`,
        applies_to: { action_class: r.globs },
        ...(r.conditions.length > 0 ? { conditions: r.conditions } : {}),
        decision: r.decision,
        ...(r.decision === 'escalate' ? { escalation: { via: 'ops' } } : {}),
        reasoning: `rule r${id - 1} n=\${n}`,
      })),
    }, { aliasDuplicateObjects: false }),
  }));
  const result = loadPolicyBundleFromFiles(sources);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.bundle;
}

describe('compiled index agrees with a naive scan', () => {
  it('on random bundles, action classes and facts', () => {
    fc.assert(
      fc.property(bundleSpec, fc.array(input, { minLength: 1, maxLength: 20 }), (spec, inputs) => {
        const bundle = buildBundle(spec);
        for (const raw of inputs) {
          const policyInput: PolicyInput = { ...raw, plan: stripUndefined(raw.plan), now: new Date('2025-03-05T10:00:00Z') };
          const fast = bundle.evaluate(policyInput);
          const slow = naiveEvaluate(bundle, policyInput);
          if (slow.reasoning === 'invalid') expect(fast).toMatchObject({ decision: 'deny', rule_id: null });
          else expect(fast).toEqual(slow);
        }
      }),
      { numRuns: 400 },
    );
  });
});

describe('glob relations used by lint agree with brute force', () => {
  const classes: string[] = [];
  const alphabet = ['a', 'b', 'c', 'd', 'x'];
  const grow = (prefix: string[]) => {
    if (prefix.length >= 2) classes.push(prefix.join('.'));
    if (prefix.length < 6) for (const s of alphabet) grow([...prefix, s]);
  };
  grow([]);
  const parsed = (text: string): Glob => (parseGlob(text) as { ok: true; glob: Glob }).glob;

  it('globCovers(a, b) iff every class b matches, a matches', () => {
    fc.assert(
      fc.property(glob, glob, (a, b) => {
        const ra = globToRegExp(a);
        const rb = globToRegExp(b);
        const brute = classes.every((c) => !rb.test(c) || ra.test(c));
        expect(globCovers(parsed(a), parsed(b))).toBe(brute);
      }),
      { numRuns: 500 },
    );
  });
  it('globIntersection finds a shared class exactly when one exists', () => {
    fc.assert(
      fc.property(glob, glob, (a, b) => {
        const ra = globToRegExp(a);
        const rb = globToRegExp(b);
        const brute = classes.some((c) => ra.test(c) && rb.test(c));
        const witness = globIntersection(parsed(a), parsed(b));
        expect(witness !== null).toBe(brute);
        if (witness !== null) expect(ra.test(witness) && rb.test(witness)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

function stripUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}
