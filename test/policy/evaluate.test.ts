import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadPolicyBundleFromFiles } from '../../src/policy/index.ts';
import { bundleOf, policy } from './support/bundles.ts';

const seedText = readFileSync(new URL('../../policies/external-automation-standing.yaml', import.meta.url), 'utf8');
const seedResult = loadPolicyBundleFromFiles([{ path: 'policies/external-automation-standing.yaml', text: seedText }]);
if (!seedResult.ok) throw new Error('seed policy must load');
const seed = seedResult.bundle;

describe('seed policy (issue 2 story)', () => {
  it('escalates a small workflow creation to automation-ops', () => {
    const d = seed.evaluate({ action_class: 'external_automation.workflow.create', params: { target_count: 3 } });
    expect(d).toMatchObject({ decision: 'escalate', rule_id: 'escalate-automation-state-change', policy_version: seed.version });
    expect(d.escalation).toEqual({
      requires: 'human_approval', via: 'automation-ops', approvals: 1, timeout_seconds: 3600, on_timeout: 'deny',
      escalate_to: null, high_risk: false, release_window_seconds: 3600,
    });
  });
  it('denies 40 targets with the number filled in as plain text', () => {
    const d = seed.evaluate({ action_class: 'external_automation.workflow.create', params: { target_count: 40 } });
    expect(d.decision).toBe('deny');
    expect(d.rule_id).toBe('deny-high-target-count-automation');
    expect(d.reasoning).toBe('Requested external automation affects 40 targets, exceeding the standing 25-target hard cap.');
    expect(d.escalation).toBeNull();
  });
  it('denies credentials, allows reads, denies unknown classes', () => {
    expect(seed.evaluate({ action_class: 'external_automation.credentials.read', params: {} }).rule_id).toBe('deny-automation-credential-access');
    expect(seed.evaluate({ action_class: 'external_automation.read.jobs', params: {} })).toMatchObject({ decision: 'allow', rule_id: 'allow-automation-readonly' });
    expect(seed.evaluate({ action_class: 'external_automation.nothing.here', params: {} })).toMatchObject({
      decision: 'deny', rule_id: null, reasoning: 'no rule matched action class external_automation.nothing.here',
    });
  });
  it('has a content-hash version', () => {
    expect(seed.version).toMatch(/^pb_[0-9a-f]{64}$/);
    expect(seed.ruleCount).toBe(8);
    expect(seed.files).toEqual([{ path: 'policies/external-automation-standing.yaml', name: 'external-automation-standing', version: '1.1.0', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
  });
});

describe('precedence', () => {
  const rules = policy(`
  - id: allow-all-jobs
    applies_to: { action_class: [app.job.*] }
    decision: allow
    reasoning: allowed
  - id: escalate-job-run
    applies_to: { action_class: [app.job.run] }
    decision: escalate
    escalation: { via: ops }
    reasoning: escalated
  - id: deny-big-runs
    applies_to: { action_class: [app.job.run] }
    conditions: [{ type: blast_radius_max, parameter: n, threshold: 5 }]
    decision: deny
    reasoning: denied
  - id: second-escalate
    applies_to: { action_class: [app.job.*] }
    decision: escalate
    escalation: { via: other }
    reasoning: second
`);
  const bundle = bundleOf(rules);

  it('deny beats escalate beats allow, whatever the order in the file', () => {
    expect(bundle.evaluate({ action_class: 'app.job.run', params: { n: 10 } }).rule_id).toBe('deny-big-runs');
    expect(bundle.evaluate({ action_class: 'app.job.run', params: { n: 1 } }).rule_id).toBe('escalate-job-run');
  });
  it('among rules with the same decision, the first in bundle order wins', () => {
    expect(bundle.evaluate({ action_class: 'app.job.list', params: {} }).rule_id).toBe('second-escalate');
  });
  it('bundle order is file name order, then rule order', () => {
    const rule = (id: string, via: string) => `
  - id: ${id}
    applies_to: { action_class: [x.y] }
    decision: escalate
    escalation: { via: ${via} }
    reasoning: r`;
    const b = bundleOf({
      'dir/b.yaml': policy(rule('from-b', 'b'), 'b'),
      'dir/a.yaml': policy(rule('from-a-1', 'a') + rule('from-a-2', 'a'), 'a'),
    });
    expect(b.evaluate({ action_class: 'x.y', params: {} }).rule_id).toBe('from-a-1');
    expect(b.rules.map((r) => r.id)).toEqual(['from-a-1', 'from-a-2', 'from-b']);
  });
});

describe('globs', () => {
  const bundle = bundleOf(policy(`
  - id: tail
    applies_to: { action_class: ["a.b.*"] }
    decision: allow
    reasoning: tail
  - id: middle
    applies_to: { action_class: ["m.*.end"] }
    decision: allow
    reasoning: middle
  - id: all
    applies_to: { action_class: ["*"] }
    decision: deny
    reasoning: catch-all
    conditions: [{ type: in, parameter: catch, values: [true] }]
`));
  const rule = (cls: string) => bundle.evaluate({ action_class: cls, params: { catch: false } }).rule_id;

  it('a trailing * matches one or more segments', () => {
    expect(rule('a.b.c')).toBe('tail');
    expect(rule('a.b.c.d.e')).toBe('tail');
    expect(rule('a.b')).toBeNull();
  });
  it('a * elsewhere matches exactly one segment', () => {
    expect(rule('m.x.end')).toBe('middle');
    expect(rule('m.x.y.end')).toBeNull();
    expect(rule('m.end')).toBeNull();
  });
  it('a lone * matches every class', () => {
    expect(bundle.evaluate({ action_class: 'q.r', params: { catch: true } }).rule_id).toBe('all');
  });
  it('denies an invalid action class without consulting rules', () => {
    for (const bad of ['A.b', 'a', 'a..b', 'a.b.', '', 'a.b c']) {
      const d = bundle.evaluate({ action_class: bad, params: { catch: true } });
      expect(d).toMatchObject({ decision: 'deny', rule_id: null });
      expect(d.reasoning).toContain('is not valid');
    }
  });
});

describe('blast_radius_max and fail closed', () => {
  const bundle = bundleOf(policy(`
  - id: deny-wide
    applies_to: { action_class: [a.write] }
    conditions: [{ type: blast_radius_max, parameter: target_count, threshold: 25 }]
    decision: deny
    reasoning: affects \${target_count} targets
  - id: allow-write
    applies_to: { action_class: [a.write] }
    decision: allow
    reasoning: ok
  - id: allow-only-when-wide
    applies_to: { action_class: [b.write] }
    conditions: [{ type: blast_radius_max, parameter: target_count, threshold: 25 }]
    decision: allow
    reasoning: odd but legal
`));
  const evaluate = (params: Record<string, unknown>, plan?: Record<string, unknown>) =>
    bundle.evaluate({ action_class: 'a.write', params, plan });

  it('holds above the threshold, not at it', () => {
    expect(evaluate({ target_count: 26 }).rule_id).toBe('deny-wide');
    expect(evaluate({ target_count: 25 }).rule_id).toBe('allow-write');
  });
  it('holds when missing and says so', () => {
    const d = evaluate({});
    expect(d.rule_id).toBe('deny-wide');
    expect(d.reasoning).toBe('affects [missing] targets (target_count missing: failing closed)');
  });
  it('holds when not a finite number and names the type', () => {
    for (const [value, kind] of [['7', 'string'], [null, 'null'], [[1], 'array'], [{ n: 1 }, 'object'], [true, 'boolean']] as const) {
      const d = evaluate({ target_count: value });
      expect(d.rule_id).toBe('deny-wide');
      expect(d.reasoning).toContain(`(target_count is not a finite number, got ${kind}: failing closed)`);
    }
  });
  it('reads the plan first, then params, and never the context', () => {
    expect(evaluate({ target_count: 3 }).rule_id).toBe('allow-write');
    expect(evaluate({ target_count: 3 }, { target_count: 30 }).rule_id).toBe('deny-wide');
    expect(evaluate({}, { target_count: 30 }).rule_id).toBe('deny-wide');
    // A claim is never read: alone it is a missing fact (fail closed), beside a fact it must agree.
    expect(bundle.evaluate({ action_class: 'a.write', context: { target_count: 3 } }).reasoning).toContain('(target_count missing: failing closed)');
    const conflict = bundle.evaluate({ action_class: 'a.write', context: { target_count: 1 }, params: { target_count: 40 } });
    expect(conflict).toMatchObject({ decision: 'deny', rule_id: null, claim_conflicts: [{ claim: 'context.target_count', fact: 'params.target_count', claimed: 1, actual: 40 }] });
  });
  it('a negative or fractional count is not a count: fails closed', () => {
    for (const [value, kind] of [[-40, 'a negative number'], [2.5, 'a fractional number']] as const) {
      const d = evaluate({ target_count: value });
      expect(d.rule_id).toBe('deny-wide');
      expect(d.reasoning).toContain(`(target_count is not a count (a whole number of at least 0), got ${kind}: failing closed)`);
    }
  });
  it('does not hold for an allow rule when the parameter is missing', () => {
    expect(bundle.evaluate({ action_class: 'b.write', params: {} }).rule_id).toBeNull();
    expect(bundle.evaluate({ action_class: 'b.write', params: { target_count: 30 } }).rule_id).toBe('allow-only-when-wide');
  });
  it('never reads inherited properties', () => {
    const b = bundleOf(policy(`
  - id: allow-when-small
    applies_to: { action_class: [a.b] }
    conditions: [{ type: threshold, parameter: constructor, lt: 10 }]
    decision: allow
    reasoning: r`));
    expect(b.evaluate({ action_class: 'a.b', params: {} }).rule_id).toBeNull();
  });
});

describe('threshold', () => {
  const make = (op: string) => bundleOf(policy(`
  - id: r
    applies_to: { action_class: [p.refund] }
    conditions: [{ type: threshold, parameter: amount, ${op}: 100 }]
    decision: escalate
    escalation: { via: ops }
    reasoning: amount \${amount}`));
  const holds = (op: string, amount: unknown) => make(op).evaluate({ action_class: 'p.refund', params: { amount } }).rule_id === 'r';

  it.each([
    ['gt', 100, false], ['gt', 100.5, true], ['gte', 100, true], ['gte', 99, false],
    ['lt', 100, false], ['lt', 99, true], ['lte', 100, true], ['lte', 101, false],
  ] as const)('%s 100 with %s → %s', (op, amount, expected) => {
    expect(holds(op, amount)).toBe(expected);
  });
  it('fails closed on a missing or non-numeric amount for escalate rules', () => {
    expect(holds('gt', undefined)).toBe(true);
    expect(holds('gt', 'lots')).toBe(true);
    expect(holds('gt', Number.NaN)).toBe(true);
  });
  it('refund over 100 escalates, over 1000 is denied', () => {
    const b = bundleOf(policy(`
  - id: deny-1000
    applies_to: { action_class: [p.refund] }
    conditions: [{ type: threshold, parameter: amount, gt: 1000 }]
    decision: deny
    reasoning: too much
  - id: escalate-100
    applies_to: { action_class: [p.refund] }
    conditions: [{ type: threshold, parameter: amount, gt: 100 }]
    decision: escalate
    escalation: { via: ops }
    reasoning: big
  - id: allow-rest
    applies_to: { action_class: [p.refund] }
    decision: allow
    reasoning: fine`));
    const rule = (amount: number) => b.evaluate({ action_class: 'p.refund', params: { amount } }).rule_id;
    expect([rule(50), rule(100), rule(101), rule(1000), rule(1001)]).toEqual(['allow-rest', 'allow-rest', 'escalate-100', 'escalate-100', 'deny-1000']);
  });
});

describe('in / not_in', () => {
  const b = bundleOf(policy(`
  - id: escalate-prod
    applies_to: { action_class: [c.update] }
    conditions: [{ type: in, parameter: environment, values: [production, prod] }]
    decision: escalate
    escalation: { via: ops }
    reasoning: prod
  - id: allow-nonprod
    applies_to: { action_class: [c.update] }
    conditions: [{ type: not_in, parameter: environment, values: [production, prod] }]
    decision: allow
    reasoning: nonprod
  - id: allow-tier
    applies_to: { action_class: [c.tier] }
    conditions: [{ type: in, parameter: tier, values: [1, 2] }]
    decision: allow
    reasoning: tier
`));
  const rule = (cls: string, params: Record<string, unknown>) => b.evaluate({ action_class: cls, params }).rule_id;

  it('matches members and non-members', () => {
    expect(rule('c.update', { environment: 'production' })).toBe('escalate-prod');
    expect(rule('c.update', { environment: 'staging' })).toBe('allow-nonprod');
    expect(rule('c.tier', { tier: 2 })).toBe('allow-tier');
    expect(rule('c.tier', { tier: 3 })).toBeNull();
  });
  it('treats a value of the wrong type as mistyped: escalate holds, allow does not', () => {
    expect(rule('c.update', { environment: 5 })).toBe('escalate-prod');
    expect(b.evaluate({ action_class: 'c.update', params: { environment: 5 } }).reasoning).toContain('(environment is not a string, got number: failing closed)');
    expect(rule('c.tier', { tier: '2' })).toBeNull();
    expect(rule('c.update', { environment: null })).toBe('escalate-prod');
  });
  it('treats a missing value as escalate, never allow', () => {
    expect(b.evaluate({ action_class: 'c.update', params: {} }).reasoning).toBe('prod (environment missing: failing closed)');
  });
});

describe('time_window', () => {
  const b = bundleOf(policy(`
  - id: escalate-after-hours
    applies_to: { action_class: [d.release] }
    conditions:
      - { type: time_window, timezone: Europe/Berlin, days: [mon, tue, wed, thu, fri], between: ["09:00", "17:00"], outside: true }
    decision: escalate
    escalation: { via: release }
    reasoning: after hours
  - id: allow-in-hours
    applies_to: { action_class: [d.release] }
    decision: allow
    reasoning: in hours
  - id: allow-night-shift
    applies_to: { action_class: [n.job] }
    conditions: [{ type: time_window, timezone: UTC, days: [mon], between: ["22:00", "06:00"] }]
    decision: allow
    reasoning: night
`));
  const at = (cls: string, iso: string) => b.evaluate({ action_class: cls, params: {}, now: new Date(iso) }).rule_id;

  it('uses the named zone, including summer time', () => {
    expect(at('d.release', '2025-03-05T08:30:00Z')).toBe('allow-in-hours'); // 09:30 CET
    expect(at('d.release', '2025-03-05T07:30:00Z')).toBe('escalate-after-hours'); // 08:30 CET
    expect(at('d.release', '2025-07-02T15:30:00Z')).toBe('escalate-after-hours'); // 17:30 CEST
    expect(at('d.release', '2025-07-02T14:30:00Z')).toBe('allow-in-hours'); // 16:30 CEST
  });
  it('treats the end as exclusive and weekends as outside', () => {
    expect(at('d.release', '2025-03-05T16:00:00Z')).toBe('escalate-after-hours'); // 17:00 CET
    expect(at('d.release', '2025-03-08T10:00:00Z')).toBe('escalate-after-hours'); // Saturday
  });
  it('a window past midnight belongs to the day it starts', () => {
    expect(at('n.job', '2025-03-03T23:00:00Z')).toBe('allow-night-shift'); // Monday 23:00
    expect(at('n.job', '2025-03-04T05:59:00Z')).toBe('allow-night-shift'); // Tuesday 05:59, Monday's shift
    expect(at('n.job', '2025-03-04T06:00:00Z')).toBeNull();
    expect(at('n.job', '2025-03-03T05:00:00Z')).toBeNull(); // Monday 05:00 is Sunday's shift
  });
  it('fails closed on an invalid evaluation time', () => {
    const d = b.evaluate({ action_class: 'd.release', params: {}, now: new Date('nope') });
    expect(d.rule_id).toBe('escalate-after-hours');
    expect(d.reasoning).toContain('failing closed');
    expect(b.evaluate({ action_class: 'n.job', params: {}, now: new Date('nope') }).rule_id).toBeNull();
  });
  it('uses the current time when input.now is absent', () => {
    expect(['escalate-after-hours', 'allow-in-hours']).toContain(b.evaluate({ action_class: 'd.release', params: {} }).rule_id);
  });
});

describe('escalation options and templates', () => {
  const b = bundleOf(policy(`
  - id: big
    applies_to: { action_class: [p.pay] }
    decision: escalate
    escalation:
      requires: two_person_rule
      via: payments-leads
      approvals: 2
      timeout: 30m
      on_timeout: deny
      escalate_to: { via: on-call, after: 15m }
      high_risk: true
      release_window: 1h30m
    reasoning: pay \${amount} to \${payee.name} for \${action_class}; items \${items}; \${long}
`));
  it('normalises every option into seconds', () => {
    const d = b.evaluate({ action_class: 'p.pay', params: { amount: 12.5, payee: { name: 'ACME' }, items: [1, 2], long: 'x'.repeat(300) } });
    expect(d.escalation).toEqual({
      requires: 'two_person_rule', via: 'payments-leads', approvals: 2, timeout_seconds: 1800, on_timeout: 'deny',
      escalate_to: { via: 'on-call', after_seconds: 900 }, high_risk: true, release_window_seconds: 5400,
    });
    expect(d.reasoning).toBe(`pay 12.5 to ACME for p.pay; items [1,2]; ${'x'.repeat(200)}…`);
  });
  it('action_class in a template cannot be spoofed by params', () => {
    const d = b.evaluate({ action_class: 'p.pay', params: { action_class: 'fake.class' } });
    expect(d.reasoning).toContain('for p.pay;');
  });
});

describe('index memo', () => {
  it('stays correct past its bound of remembered classes', () => {
    const b = bundleOf(policy(`
  - id: tail
    applies_to: { action_class: ["m.*"] }
    decision: allow
    reasoning: ok
  - id: exact
    applies_to: { action_class: [m.exact] }
    decision: deny
    reasoning: no`));
    for (let i = 0; i < 12_000; i++) {
      expect(b.evaluate({ action_class: `m.c${i}`, context: {} }).rule_id).toBe('tail');
      expect(b.evaluate({ action_class: `z.c${i}`, context: {} }).rule_id).toBeNull();
    }
    expect(b.evaluate({ action_class: 'm.exact', params: {} }).rule_id).toBe('exact');
    expect(b.evaluate({ action_class: 'm.c1', params: {} }).rule_id).toBe('tail');
  });
});
