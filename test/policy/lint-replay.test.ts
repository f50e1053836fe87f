import { describe, expect, it } from 'vitest';
import { lintBundle, replayDecisions, replayDecisionsAsync, type RecordedDecision } from '../../src/policy/index.ts';
import { bundleOf, policy } from './support/bundles.ts';

describe('lint', () => {
  const bundle = bundleOf(policy(`
  - id: deny-all-secrets
    applies_to: { action_class: ["app.secret.*"] }
    decision: deny
    reasoning: no
  - id: allow-secret-read
    applies_to: { action_class: [app.secret.read, "app.secret.*.list"] }
    decision: allow
    reasoning: shadowed by the deny
  - id: allow-everything
    applies_to: { action_class: ["app.*"] }
    decision: allow
    reasoning: too broad
  - id: escalate-deploys
    applies_to: { action_class: ["app.deploy.*"] }
    decision: escalate
    escalation: { via: ops, escalate_to: { via: ops, after: 15m } }
    reasoning: deploy \${service}
  - id: allow-first
    applies_to: { action_class: [app.x.y] }
    decision: allow
    reasoning: first
  - id: allow-second
    applies_to: { action_class: [app.x.y] }
    conditions: [{ type: in, parameter: env, values: [dev] }]
    decision: allow
    reasoning: same decision, later
`));
  const warnings = lintBundle(bundle);
  const codes = (id: string) => warnings.filter((w) => w.rule_id === id).map((w) => w.code).sort();

  it('finds rules that can never decide', () => {
    expect(codes('allow-secret-read')).toContain('shadowed_rule');
    expect(warnings.find((w) => w.rule_id === 'allow-secret-read')!.message).toContain('deny-all-secrets');
    expect(codes('allow-second')).toContain('shadowed_rule');
    expect(codes('deny-all-secrets')).toEqual([]);
  });
  it('flags very broad allow globs and allow/escalate overlaps', () => {
    expect(codes('allow-everything')).toEqual(['allow_escalate_overlap', 'broad_allow']);
    expect(warnings.find((w) => w.code === 'allow_escalate_overlap')!.message).toContain('e.g. app.deploy.x');
  });
  it('flags templates naming unchecked parameters and escalate_to the same group', () => {
    expect(codes('escalate-deploys')).toEqual(['escalate_to_same_group', 'unchecked_template_parameter']);
  });
  it('gives positions', () => {
    expect(warnings.find((w) => w.rule_id === 'allow-secret-read')).toMatchObject({ file: 'policy.yaml', line: 9, column: 9 });
  });
});

describe('replay', () => {
  const candidate = bundleOf(policy(`
  - id: deny-big
    applies_to: { action_class: [a.run] }
    conditions: [{ type: blast_radius_max, parameter: n, threshold: 10 }]
    decision: deny
    reasoning: too big (\${n})
  - id: escalate-run
    applies_to: { action_class: [a.run] }
    decision: escalate
    escalation: { via: ops }
    reasoning: run
  - id: allow-read-v2
    applies_to: { action_class: [a.read] }
    decision: allow
    reasoning: read
`));
  const record = (id: number, cls: string, n: number | undefined, decision: RecordedDecision['decision'], rule: string | null): RecordedDecision => ({
    action_id: `act_${id}`,
    input: { action_class: cls, params: n === undefined ? {} : { n }, now: new Date('2025-01-01T00:00:00Z') },
    decision,
    rule_id: rule,
  });
  const recorded = [
    record(1, 'a.run', 5, 'escalate', 'escalate-run'),
    record(2, 'a.run', 50, 'escalate', 'escalate-run'),
    record(3, 'a.run', 60, 'escalate', 'escalate-run'),
    record(4, 'a.run', 70, 'escalate', 'escalate-run'),
    record(5, 'a.run', 80, 'escalate', 'escalate-run'),
    record(6, 'a.read', undefined, 'allow', 'allow-read'),
    record(7, 'a.gone', undefined, 'allow', 'allow-gone'),
  ];

  it('counts what would change by transition, with the first examples', () => {
    const report = replayDecisions(candidate, recorded);
    expect(report).toMatchObject({ candidate_version: candidate.version, total: 7, unchanged: 1, decision_changed: 5, rule_changed: 1, without_timestamp: 0 });
    expect(report.changes[0]).toMatchObject({ from_decision: 'escalate', from_rule: 'escalate-run', to_decision: 'deny', to_rule: 'deny-big', count: 4 });
    expect(report.changes[0]!.examples.map((e) => e.action_id)).toEqual(['act_2', 'act_3', 'act_4']);
    expect(report.changes[0]!.examples[0]!.to.reasoning).toBe('too big (50)');
    expect(report.changes[1]).toMatchObject({ from_rule: 'allow-gone', to_decision: 'deny', to_rule: null, count: 1 });
    expect(report.changes[2]).toMatchObject({ from_rule: 'allow-read', to_rule: 'allow-read-v2', count: 1 });
  });
  it('streams async sources and notes records without timestamps', async () => {
    async function* source() {
      yield { ...recorded[0]!, input: { action_class: 'a.run', params: { n: 1 } } };
    }
    const report = await replayDecisionsAsync(candidate, source(), 1);
    expect(report).toMatchObject({ total: 1, unchanged: 1, without_timestamp: 1, changes: [] });
  });
});
