import { describe, expect, it } from 'vitest';
import { lintBundle, loadPolicyBundleFromFiles, type PolicyBundle } from '../../src/policy';
import { runTestFiles } from '../../src/policy';

function bundleOf(rules: string): PolicyBundle {
  const loaded = loadPolicyBundleFromFiles([{ path: 'p.yaml', text: `name: p\nversion: "1"\nrules:${rules}` }]);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return loaded.bundle;
}

describe('facts by source', () => {
  const b = bundleOf(`
  - id: deny-many-recipients
    applies_to: { action_class: [mail.send] }
    conditions: [{ type: blast_radius_max, count: params.recipients, threshold: 3 }]
    decision: deny
    reasoning: too many recipients
  - id: deny-other-teams
    applies_to: { action_class: [deploy.*] }
    conditions: [{ type: not_in, parameter: agent.owner, values: [platform] }]
    decision: deny
    reasoning: only platform agents deploy, not \${agent.owner}
  - id: allow-mail
    applies_to: { action_class: [mail.send] }
    conditions: [{ type: includes_any, parameter: agent.tags, values: [mailer] }]
    decision: allow
    reasoning: mailers send mail
  - id: allow-approver-requests
    applies_to: { action_class: [deploy.api] }
    conditions: [{ type: includes_any, parameter: requester.groups, values: [automation-ops] }]
    requires_requester: true
    decision: allow
    reasoning: an automation-ops member asked for it
  - id: deny-busy
    applies_to: { action_class: [report.run] }
    conditions: [{ type: threshold, parameter: usage.actions_last_hour, gte: 10 }]
    decision: deny
    reasoning: \${usage.actions_last_hour} actions in the last hour
  - id: allow-reports
    applies_to: { action_class: [report.run] }
    decision: allow
    reasoning: reports are fine
`);
  const agent = { id: 'agt_1', name: 'mailer', owner: 'platform', tags: ['mailer'] };

  it('counts what will actually run: the length of a list or the keys of a map in the payload', () => {
    expect(b.evaluate({ action_class: 'mail.send', params: { recipients: ['a', 'b'] }, agent }).rule_id).toBe('allow-mail');
    expect(b.evaluate({ action_class: 'mail.send', params: { recipients: ['a', 'b', 'c', 'd'] }, agent }).rule_id).toBe('deny-many-recipients');
    expect(b.evaluate({ action_class: 'mail.send', params: { recipients: { a: 1, b: 2, c: 3, d: 4 } }, agent }).rule_id).toBe('deny-many-recipients');
    // A stated count beside the list changes nothing; a list that is not a list fails closed.
    expect(b.evaluate({ action_class: 'mail.send', params: { recipients: ['a', 'b', 'c', 'd'], recipient_count: 1 }, agent }).rule_id).toBe('deny-many-recipients');
    const odd = b.evaluate({ action_class: 'mail.send', params: { recipients: 'a,b,c,d,e' }, agent });
    expect(odd.rule_id).toBe('deny-many-recipients');
    expect(odd.reasoning).toContain('(params.recipients is not a list or a map, got string: failing closed)');
  });

  it('reads the agent as the server knows it: per-owner and per-tag rules', () => {
    expect(b.evaluate({ action_class: 'deploy.web', agent: { ...agent, owner: 'marketing' } }).reasoning).toBe('only platform agents deploy, not marketing');
    expect(b.evaluate({ action_class: 'mail.send', params: { recipients: [] }, agent: { ...agent, tags: ['other'] } }).rule_id).toBeNull();
    // The agent's own context cannot pose as the agent.
    expect(b.evaluate({ action_class: 'mail.send', params: { recipients: [] }, context: { agent: agent }, agent: { ...agent, tags: [] } }).rule_id).toBeNull();
  });

  it('requires_requester: without a validated human the rule denies; approver-group membership is a condition', () => {
    const requester = { id: 'U0ALICE', groups: ['automation-ops'], is_owner: false };
    expect(b.evaluate({ action_class: 'deploy.api', agent, requester }).rule_id).toBe('allow-approver-requests');
    const none = b.evaluate({ action_class: 'deploy.api', agent, requester: null });
    expect(none).toMatchObject({ decision: 'deny', rule_id: null });
    expect(b.evaluate({ action_class: 'deploy.api', agent, requester: { ...requester, groups: ['other'] } }).rule_id).toBeNull();
  });

  it('requires_requester on a rule that holds denies by that rule and says why', () => {
    const r = bundleOf(`
  - id: allow-with-human
    applies_to: { action_class: [a.b] }
    requires_requester: true
    decision: allow
    reasoning: ok`);
    expect(r.evaluate({ action_class: 'a.b' })).toMatchObject({ decision: 'deny', rule_id: 'allow-with-human', reasoning: expect.stringContaining('requires a requester') });
    expect(r.evaluate({ action_class: 'a.b', requester: { id: 'U1', groups: [] } }).decision).toBe('allow');
  });

  it('reads usage, and a bundle says which costly facts it reads', () => {
    expect(b.evaluate({ action_class: 'report.run', usage: { actions_last_hour: 12 } }).reasoning).toBe('12 actions in the last hour');
    expect(b.evaluate({ action_class: 'report.run', usage: { actions_last_hour: 2 } }).rule_id).toBe('allow-reports');
    expect(b.evaluate({ action_class: 'report.run' }).rule_id).toBe('deny-busy'); // missing usage fails closed
    expect(b.readsFacts('usage')).toBe(true);
    expect(bundleOf(`
  - id: x
    applies_to: { action_class: [a.b] }
    decision: allow
    reasoning: r`).readsFacts('usage')).toBe(false);
  });

  it('explain shows where each condition read its value', () => {
    const e = b.explain({ action_class: 'mail.send', params: { recipients: ['a'] }, agent, context: { note: 'x' } });
    const sources = e.considered.flatMap((r) => r.conditions.map((c) => c.source));
    expect(sources).toEqual(expect.arrayContaining(['params', 'agent']));
    expect(e.facts).toMatchObject({ params: ['recipients'], agent: ['id', 'name', 'owner', 'tags'], 'context (claims, never read)': ['note'] });
  });
});

describe('policies that read claims', () => {
  it('a condition on context never holds as a fact (fails closed) and lint says so', () => {
    const b = bundleOf(`
  - id: allow-small-by-claim
    applies_to: { action_class: [a.b] }
    conditions: [{ type: threshold, parameter: context.amount, lte: 10 }]
    decision: allow
    reasoning: small (\${context.amount})`);
    expect(b.evaluate({ action_class: 'a.b', context: { amount: 1 }, params: {} }).rule_id).toBeNull();
    const warnings = lintBundle(b).filter((w) => w.code === 'reads_agent_claim');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toContain('context.amount');
  });

  it('policy test files: `context` in a case states facts (as before); `claims` are the agent\'s claims', () => {
    const b = bundleOf(`
  - id: deny-wide
    applies_to: { action_class: [a.b] }
    conditions: [{ type: blast_radius_max, parameter: target_count, threshold: 5 }]
    decision: deny
    reasoning: wide
  - id: allow-narrow
    applies_to: { action_class: [a.b] }
    decision: allow
    reasoning: narrow`);
    const run = runTestFiles(b, [
      {
        path: 't.test.yaml',
        text: `cases:
  - name: legacy context states the fact
    input: { action_class: a.b, context: { target_count: 9 } }
    expect: { decision: deny, rule_id: deny-wide }
  - name: a contradicting claim is denied
    input: { action_class: a.b, params: { target_count: 2 }, claims: { target_count: 1 } }
    expect: { decision: deny, rule_id: null }
  - name: the plan decides
    input: { action_class: a.b, params: { target_count: 2 }, plan: { target_count: 9 } }
    expect: { decision: deny, rule_id: deny-wide }
`,
      },
    ]);
    expect(run.errors).toEqual([]);
    expect(run.results.map((r) => [r.name, r.passed])).toEqual([
      ['legacy context states the fact', true],
      ['a contradicting claim is denied', true],
      ['the plan decides', true],
    ]);
  });
});
