import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decisionSchema, runPolicyCommand, type PolicyCliIo, type RecordedDecision } from '../../src/policy/index.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const seedDir = join(root, 'policies');
const examplesDir = join(root, 'docs/policy-examples');

type Run = { code: number; stdout: string; stderr: string };

async function run(argv: string[], extra: Partial<PolicyCliIo> & { stdin?: string } = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: PolicyCliIo = {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    readStdin: async () => extra.stdin ?? '',
    ...extra,
  };
  const code = await runPolicyCommand(argv, io);
  return { code, stdout, stderr };
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'policy-cli-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('policy eval', () => {
  it('prints the decision as JSON from stdin', async () => {
    const r = await run(['eval', '--policies', seedDir, '--input', '-'], {
      stdin: JSON.stringify({ action_class: 'external_automation.workflow.create', params: { target_count: 40 }, idempotency_key: 'k', justification: 'j' }),
    });
    expect(r.code).toBe(0);
    const decision = decisionSchema.parse(JSON.parse(r.stdout));
    expect(decision).toMatchObject({ decision: 'deny', rule_id: 'deny-high-target-count-automation' });
    expect(decision.reasoning).toContain('affects 40 targets');
    expect(Object.keys(JSON.parse(r.stdout))).toEqual(['decision', 'rule_id', 'reasoning', 'escalation', 'policy_version']);
  });
  it('reads an input file and honours now', async () => {
    const file = join(tmp, 'input.json');
    await writeFile(file, JSON.stringify({ action_class: 'deploy.api.release', params: { service: 'api', rollout: { hosts: 1 } }, now: '2025-03-08T10:00:00Z' }));
    const r = await run(['eval', '--policies', examplesDir, '--input', file]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: 'escalate', rule_id: 'escalate-deploy-outside-hours', escalation: { via: 'release-managers', escalate_to: { via: 'on-call', after_seconds: 900 } } });
  });
  it('exit 2 on usage and input errors, 1 on an invalid bundle', async () => {
    expect((await run(['eval', '--policies', seedDir])).code).toBe(2);
    expect((await run(['eval', '--bogus'])).code).toBe(2);
    const notJson = await run(['eval', '--policies', seedDir, '--input', '-'], { stdin: '{' });
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('not JSON');
    const noClass = await run(['eval', '--policies', seedDir, '--input', '-'], { stdin: '{"context":{}}' });
    expect(noClass.code).toBe(2);
    expect(noClass.stderr).toContain('action_class');
    expect((await run(['eval', '--policies', seedDir, '--input', join(tmp, 'missing.json')])).code).toBe(2);
    const broken = join(tmp, 'broken');
    await cp(seedDir, broken, { recursive: true });
    await writeFile(join(broken, 'zz.yaml'), 'name: zz\nversion: "1"\nrules:\n  - id: x\n    decision: allow\n');
    const r = await run(['eval', '--policies', broken, '--input', '-'], { stdin: '{"action_class":"a.b"}' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/zz\.yaml:4:5: rules\[0\]: missing required key "applies_to" \[missing_key\]/);
  });
});

describe('policy explain', () => {
  it('shows every matching rule, its conditions and why the winner won', async () => {
    const r = await run(['explain', '--policies', seedDir, '--input', '-'], {
      stdin: JSON.stringify({ action_class: 'external_automation.job.run', params: { target_count: 3 } }),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('decision: escalate by escalate-automation-state-change');
    expect(r.stdout).toContain(' - deny-high-target-count-automation [deny]');
    expect(r.stdout).toContain('fails    blast_radius_max: target_count = 3 is within the cap of 25');
    expect(r.stdout).toContain('=> escalate-automation-state-change');
    expect(r.stdout).toContain('why: escalate-automation-state-change decides escalate; it is the only matching rule whose conditions hold');
  });
  it('--json gives the structured explanation', async () => {
    const r = await run(['explain', '--json', '--policies', seedDir, '--input', '-'], { stdin: '{"action_class":"external_automation.nope.x"}' });
    const explanation = JSON.parse(r.stdout);
    expect(explanation).toMatchObject({ winner: null, considered: [], decision: { decision: 'deny', rule_id: null } });
    expect(explanation.why).toContain('default applies');
  });
});

describe('policy test', () => {
  it('passes on the seed policy with every rule covered', async () => {
    const r = await run(['test', seedDir, '--require-coverage']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\| result \| case +\| name/);
    expect(r.stdout).toContain('rules decided by a passing case: 9/9');
    expect(r.stdout).toMatch(/^\d+ passed, 0 failed$/m);
  });
  it('passes on the condition examples with every rule covered', async () => {
    const r = await run(['test', examplesDir, '--require-coverage']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rules decided by a passing case: 8/8');
  });
  it('fails with a table row and the difference when a case fails', async () => {
    const dir = join(tmp, 'failing');
    await cp(seedDir, dir, { recursive: true });
    await writeFile(join(dir, 'extra.test.yaml'), `cases:
  - name: wrong on purpose
    input: { action_class: external_automation.read.jobs }
    expect: { decision: deny, rule_id: deny-automation-credential-access }
`);
    const r = await run(['test', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\| FAIL +\| .*extra\.test\.yaml:2/);
    expect(r.stdout).toContain('decision: expected deny, got allow');
    expect(r.stdout).toMatch(/^\d+ passed, 1 failed$/m);
  });
  it('fails on an invalid test file, a missing test file, and missing coverage when asked', async () => {
    const dir = join(tmp, 'bad-tests');
    await cp(seedDir, dir, { recursive: true });
    await writeFile(join(dir, 'external-automation-standing.test.yaml'), 'cases:\n  - name: x\n    input: { action_class: a.b }\n    expect: { decision: maybe, rule_id: null }\n');
    const bad = await run(['test', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('external-automation-standing.test.yaml:4:');
    await rm(join(dir, 'external-automation-standing.test.yaml'));
    await rm(join(dir, 'external-automation-reruns.test.yaml'));
    const none = await run(['test', dir]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('no test files');
    await writeFile(join(dir, 'one.test.yaml'), 'cases:\n  - name: x\n    input: { action_class: external_automation.read.jobs }\n    expect: { decision: allow, rule_id: allow-automation-readonly }\n');
    expect((await run(['test', dir])).code).toBe(0);
    const strict = await run(['test', dir, '--require-coverage']);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain('rules decided by a passing case: 1/9');
  });
});

describe('policy lint', () => {
  it('is clean on the seed policy', async () => {
    const r = await run(['lint', seedDir]);
    expect(r).toMatchObject({ code: 0, stdout: '9 rules in 2 file(s), 0 warning(s)\n' });
  });
  it('prints warnings, exits 1 with --strict, 1 on errors', async () => {
    const r = await run(['lint', examplesDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[unchecked_template_parameter]');
    expect((await run(['lint', examplesDir, '--strict'])).code).toBe(1);
    const json = JSON.parse((await run(['lint', examplesDir, '--json'])).stdout);
    expect(json.warnings).toHaveLength(2);
    expect((await run(['lint', join(tmp, 'does-not-exist')])).code).toBe(1);
  });
});

describe('policy replay', () => {
  const recorded: RecordedDecision[] = [
    { action_id: 'act_1', input: { action_class: 'external_automation.read.jobs', context: {} }, decision: 'allow', rule_id: 'allow-automation-readonly' },
    { action_id: 'act_2', input: { action_class: 'external_automation.job.run', params: { target_count: 30 } }, decision: 'escalate', rule_id: 'escalate-automation-state-change' },
  ];

  it('asks the injected loader for records since the parsed date and reports changes', async () => {
    let asked: Date | null = null;
    const r = await run(['replay', seedDir, '--since', '30d'], {
      now: () => new Date('2025-03-31T00:00:00Z'),
      loadRecorded: (since) => {
        asked = since;
        return recorded;
      },
    });
    expect(r.code).toBe(0);
    expect(asked).toEqual(new Date('2025-03-01T00:00:00Z'));
    expect(r.stdout).toContain('unchanged: 1; decision would change: 1');
    expect(r.stdout).toContain('escalate by escalate-automation-state-change -> deny by deny-high-target-count-automation');
    expect(r.stdout).toContain('act_2 external_automation.job.run: Requested external automation affects 30 targets');
    const failing = await run(['replay', seedDir, '--since', '2025-01-01', '--fail-on-change', '--json'], { loadRecorded: () => recorded });
    expect(failing.code).toBe(1);
    expect(JSON.parse(failing.stdout).decision_changed).toBe(1);
  });
  it('exit 2 without a database loader or with a bad --since', async () => {
    const r = await run(['replay', seedDir, '--since', '30d']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('needs recorded decisions');
    expect((await run(['replay', seedDir, '--since', 'yesterday'], { loadRecorded: () => [] })).code).toBe(2);
    expect((await run(['replay', seedDir], { loadRecorded: () => [] })).code).toBe(2);
  });
});

describe('dispatcher', () => {
  it('prints usage and rejects unknown commands', async () => {
    expect((await run([])).code).toBe(2);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('eval');
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown policy command "frobnicate"');
    expect((await run(['toString'])).code).toBe(2);
  });
});
