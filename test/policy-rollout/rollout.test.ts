import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { loadPolicyBundleFromFiles } from '../../src/policy';
import { compareDecisions } from '../../src/policy-rollout/compare';
import { actionRequest, eventually, startHarness, type Harness } from '../support/harness';

const ENFORCED = `
name: enforced
version: "1"
rules:
  - id: allow-reads
    applies_to: { action_class: [external_automation.read.*] }
    decision: allow
    reasoning: Reads are fine.
  - id: escalate-workflows
    applies_to: { action_class: [external_automation.workflow.create] }
    decision: escalate
    escalation: { via: automation-ops }
    reasoning: Workflows need approval.
  - id: escalate-webhooks-high-risk
    applies_to: { action_class: [external_automation.webhook.update] }
    decision: escalate
    escalation: { via: automation-ops, high_risk: true }
    reasoning: Webhook changes are high risk.
`;
/** Stricter: one class of reads denied, workflows need two approvals. */
const CANDIDATE = `
name: candidate
version: "2"
rules:
  - id: deny-secret-reads
    applies_to: { action_class: [external_automation.read.secrets] }
    decision: deny
    reasoning: Secret reads are denied now.
  - id: allow-reads
    applies_to: { action_class: [external_automation.read.*] }
    decision: allow
    reasoning: Reads are fine.
  - id: escalate-workflows
    applies_to: { action_class: [external_automation.workflow.create] }
    decision: escalate
    escalation: { via: automation-ops, approvals: 2 }
    reasoning: Workflows need two approvals.
  - id: escalate-webhooks-high-risk
    applies_to: { action_class: [external_automation.webhook.update] }
    decision: escalate
    escalation: { via: automation-ops, high_risk: true }
    reasoning: Webhook changes are high risk.
`;

let h: Harness;
let enforcedDir: string;
let candidateDir: string;

async function cli(args: string[]) {
  let out = '';
  const io: CliIo = { stdout: (s) => void (out += `${s}\n`), stderr: (s) => void (out += `${s}\n`), readStdin: async () => '' };
  return { code: await runCli(args, io), out };
}
const bundleOf = (text: string) => {
  const r = loadPolicyBundleFromFiles([{ path: 'p.yaml', text }]);
  if (!r.ok) throw new Error('bad bundle');
  return r.bundle;
};

beforeAll(async () => {
  enforcedDir = mkdtempSync(join(tmpdir(), 'cs-enforced-'));
  candidateDir = mkdtempSync(join(tmpdir(), 'cs-candidate-'));
  writeFileSync(join(enforcedDir, 'policy.yaml'), ENFORCED);
  writeFileSync(join(candidateDir, 'policy.yaml'), CANDIDATE);
  h = await startHarness({ env: { COUNTERSIGN_POLICIES: enforcedDir, COUNTERSIGN_POLICIES_CANDIDATE: candidateDir } });
  Object.assign(process.env, { DATABASE_URL: h.db.url, COUNTERSIGN_POLICIES: enforcedDir });
});

afterAll(async () => {
  await h?.close();
});

describe('a candidate bundle in shadow beside the enforced one', () => {
  it('decides every request too, but only the enforced decision counts', async () => {
    const secret = await h.post(actionRequest({ action_class: 'external_automation.read.secrets' }));
    expect(secret.status).toBe(201); // the candidate would deny it: it does not count
    const wf = await h.post(actionRequest());
    expect(wf.body).toMatchObject({ status: 'pending_approval', approvals_required: 1 });
    for (let i = 0; i < 3; i++) expect((await h.post(actionRequest({ action_class: 'external_automation.read.jobs' }))).status).toBe(201);
    const row = await eventually(async () => {
      const [r] = await h.db.sql`select shadowed::int, disagreements::int, new_denies::int, approver_changes::int, new_allows::int, new_allows_high_risk::int from policy_shadow`;
      return r && Number(r.shadowed) >= 5 ? r : null;
    }, 10_000, 'the shadow record');
    expect(row).toMatchObject({ disagreements: 2, new_denies: 1, approver_changes: 1, new_allows: 0, new_allows_high_risk: 0 });
    const events = await h.db.sql`select data from audit_events where type = 'policy.shadow_disagreed' order by seq`;
    expect(events.map((e) => (e.data as { kind: string }).kind).sort()).toEqual(['approver-changed', 'new-deny']);
    const metrics = await (await fetch(`${h.app.url}/metrics`)).text();
    expect(metrics).toMatch(/countersign_policy_shadow_total\{result="new-deny"\} 1/);
  });

  it('rollout status shows what the candidate would change', async () => {
    const res = await cli(['policy', 'rollout', 'status', '--candidate', candidateDir]);
    expect(res.code).toBe(0);
    expect(res.out).toContain('shadowed 5, disagreed 2: allows it would add 0 (high risk 0), denies it would add 1');
    expect(res.out).toContain('changed approvers 1');
    expect(res.out).toContain('new-deny: external_automation.read.secrets allow → deny (1)');
    expect(res.out).toContain('approver-changed: external_automation.workflow.create escalate via automation-ops → escalate via automation-ops (1)');
  });

  it('promote refuses below the checkpoint, records the refusal, and changes nothing', async () => {
    const res = await cli(['policy', 'rollout', 'promote', '--candidate', candidateDir, '--checkpoint', 'alpha']);
    expect(res.code).toBe(1);
    expect(res.out).toContain('PASS  replay: no recorded denial would be allowed');
    expect(res.out).toContain('FAIL  shadow: at least 50 live requests');
    expect(readFileSync(join(enforcedDir, 'policy.yaml'), 'utf8')).toBe(ENFORCED);
    const [refused] = await h.db.sql`select data from audit_events where type = 'policy.promotion_refused'`;
    expect(refused!.data).toMatchObject({ checkpoint: 'alpha' });
  });

  it('promote passes the gates, the servers reload the candidate, and rollback restores the previous bundle', async () => {
    const res = await cli(['policy', 'rollout', 'promote', '--candidate', candidateDir, '--checkpoint', 'alpha', '--min-shadowed', '5']);
    expect(res.out).toContain('PASS  shadow: no new allow on a high-risk class');
    expect(res.code).toBe(0);
    expect(readFileSync(join(enforcedDir, 'policy.yaml'), 'utf8')).toBe(CANDIDATE);
    expect(readdirSync(join(enforcedDir, '.rollout'))).toHaveLength(1);
    await eventually(async () => (await h.post(actionRequest({ action_class: 'external_automation.read.secrets' }))).status === 403, 10_000, 'the candidate enforced');
    const [promoted] = await h.db.sql`select type from audit_events where type = 'policy.promoted'`;
    expect(promoted).toBeTruthy();

    const back = await cli(['policy', 'rollout', 'rollback']);
    expect(back.code).toBe(0);
    expect(readFileSync(join(enforcedDir, 'policy.yaml'), 'utf8')).toBe(ENFORCED);
    await eventually(async () => (await h.post(actionRequest({ action_class: 'external_automation.read.secrets' }))).status === 201, 10_000, 'the previous bundle enforced');
    expect((await cli(['policy', 'rollout', 'rollback'])).code).toBe(1); // nothing left to roll back
    expect(existsSync(join(enforcedDir, '.rollout'))).toBe(true);
  });

  it('refuses bad usage', async () => {
    expect((await cli(['policy', 'rollout'])).code).toBe(2);
    expect((await cli(['policy', 'rollout', 'promote', '--candidate', candidateDir])).code).toBe(2);
    expect((await cli(['policy', 'rollout', 'promote', '--candidate', candidateDir, '--checkpoint', 'prod'])).code).toBe(2);
  });
});

describe('what counts as a disagreement', () => {
  const enforced = bundleOf(ENFORCED);
  it('a new allow is high risk where the enforced bundle denies or escalates as high risk', () => {
    const looser = bundleOf(`
name: looser
version: "3"
rules:
  - id: allow-everything-automation
    applies_to: { action_class: [external_automation.*] }
    decision: allow
    reasoning: Everything.
`);
    const at = (c: string) => compareDecisions(enforced.evaluate({ action_class: c, context: {} }), looser.evaluate({ action_class: c, context: {} }));
    expect(at('external_automation.webhook.update')).toEqual({ kind: 'new-allow', highRisk: true });
    expect(at('external_automation.job.delete')).toEqual({ kind: 'new-allow', highRisk: true }); // default deny before
    expect(at('external_automation.workflow.create')).toEqual({ kind: 'new-allow', highRisk: false });
    expect(at('external_automation.read.jobs')).toBeNull();
  });
});
