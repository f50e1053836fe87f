import { describe, expect, it } from 'vitest';
import { boundsViolations, describeSimilar, fixedPayloadHash } from '../../src/grants/similar';
import { bundleOf, errorsOf, policy } from './support/bundles.ts';

const standingRule = (escalation: string) =>
  policy(`
  - id: runs
    applies_to: { action_class: [a.run] }
    decision: escalate
    escalation: ${escalation}
    reasoning: runs need approval`);

describe('escalation.standing (standing grants) in policy files', () => {
  it('is normalised into the decision: seconds, count, variable fields without the params. prefix', () => {
    const bundle = bundleOf(standingRule(`{ via: ops, standing: { max_duration: 1h30m, max_count: 20, variable: { run_id: {}, params.target.count: { max: 5 } } } }`));
    const d = bundle.evaluate({ action_class: 'a.run', params: {} });
    expect(d.escalation?.standing).toEqual({ max_duration_seconds: 5400, max_count: 20, variable: { run_id: {}, 'target.count': { max: 5 } } });
  });

  it('is absent from decisions of rules without it (the decision JSON is unchanged for them)', () => {
    const d = bundleOf(standingRule(`{ via: ops }`)).evaluate({ action_class: 'a.run', params: {} });
    expect(d.escalation).not.toHaveProperty('standing');
  });

  it('is refused on a high-risk rule, and with bad limits or fields', () => {
    expect(errorsOf(standingRule(`{ via: ops, high_risk: true, standing: { max_duration: 1h, max_count: 2 } }`)).map((e) => e.code)).toContain('standing_not_allowed');
    expect(errorsOf(standingRule(`{ via: ops, standing: { max_duration: 1h, max_count: 0 } }`)).length).toBeGreaterThan(0);
    expect(errorsOf(standingRule(`{ via: ops, standing: { max_duration: forever, max_count: 2 } }`)).map((e) => e.code)).toContain('invalid_duration');
    expect(errorsOf(standingRule(`{ via: ops, standing: { max_duration: 1h, max_count: 2, variable: { context.x: {} } } }`)).length).toBeGreaterThan(0);
    expect(errorsOf(standingRule(`{ via: ops, standing: { max_duration: 1h, max_count: 2, variable: { x: { pattern: ".*" } } } }`)).length).toBeGreaterThan(0);
  });
});

describe('what "similar" means', () => {
  const variable = { run_id: {}, target_count: { min: 1, max: 5 }, region: { in: ['eu', 'us'] }, 'note.text': { max_length: 4 } };
  const base = { actionClass: 'a.run', executor: 'e', params: { job: 'sync', run_id: 'r1', target_count: 2, region: 'eu', note: { text: 'hi', keep: 1 } } };

  it('keeps everything but the variable fields fixed', () => {
    const h = fixedPayloadHash(base, variable);
    expect(fixedPayloadHash({ ...base, params: { ...base.params, run_id: 'r9', target_count: 5, region: 'us', note: { text: 'yo', keep: 1 } } }, variable)).toBe(h);
    expect(fixedPayloadHash({ ...base, params: { ...base.params, job: 'wipe' } }, variable)).not.toBe(h);
    expect(fixedPayloadHash({ ...base, params: { ...base.params, note: { text: 'hi', keep: 2 } } }, variable)).not.toBe(h);
    expect(fixedPayloadHash({ ...base, params: { ...base.params, extra: true } }, variable)).not.toBe(h);
    expect(fixedPayloadHash({ ...base, executor: 'other' }, variable)).not.toBe(h);
    expect(fixedPayloadHash({ ...base, actionClass: 'a.other' }, variable)).not.toBe(h);
    // The caller's params are not changed by hashing.
    expect(base.params.run_id).toBe('r1');
  });

  it('checks each variable field against its bounds', () => {
    expect(boundsViolations(base.params, variable)).toEqual([]);
    expect(boundsViolations({ ...base.params, target_count: 6 }, variable)).toEqual(['target_count must be at most 5']);
    expect(boundsViolations({ ...base.params, target_count: 0 }, variable)).toEqual(['target_count must be at least 1']);
    expect(boundsViolations({ ...base.params, target_count: '3' }, variable)).toEqual(['target_count must be a number']);
    expect(boundsViolations({ ...base.params, region: 'ap' }, variable)).toEqual(['region must be one of ["eu","us"]']);
    expect(boundsViolations({ ...base.params, note: { text: 'hello', keep: 1 } }, variable)).toEqual(['note.text may hold at most 4']);
  });

  it('is said in words on the card', () => {
    expect(describeSimilar({})).toBe('exactly the same parameters');
    expect(describeSimilar(variable)).toBe('the same parameters except run_id (any value); target_count (≥ 1, ≤ 5); region (one of "eu", "us"); note.text (at most 4 long)');
  });
});
