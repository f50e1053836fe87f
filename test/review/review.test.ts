import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { createAgent } from '../../src/auth/agents';
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from '../../src/slack/blocks/approval-card';
import { DENY_REASON_BLOCK, DENY_REASON_INPUT, DENY_VIEW_ID } from '../../src/slack/interaction-ids';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, actionRequest, eventually } from '../support/harness';
import { startSlackHarness, waitForCard, type SlackHarness } from '../support/slack';

/** Runs the CLI in this process against the harness's database and captures what it prints. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (s) => void (stdout += `${s}\n`), stderr: (s) => void (stderr += `${s}\n`), readStdin: async () => '' };
  const code = await runCli(args, io);
  return { code, stdout, stderr };
}

/** Minimal CSV reader for the checks (quoted fields, doubled quotes). */
function parseCsv(text: string): Array<Record<string, string>> {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\n') row.push(field), rows.push(row), (row = []), (field = '');
    else field += ch;
  }
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head!.map((h, i) => [h, r[i] ?? ''])));
}

let h: SlackHarness;
let reportToken: string;
const started = new Date();

beforeAll(async () => {
  h = await startSlackHarness();
  process.env.DATABASE_URL = h.db.url;
  process.env.COUNTERSIGN_POLICIES = 'policies';
  const report = await createAgent(h.db.db, { name: 'report-bot', owner: 'data', scopes: ['external_automation.read.*', 'external_automation.status.*'] }, 'admin:test');
  reportToken = report.token;
  // Seeded: report-bot's token was issued 120 days ago and never rotated.
  await h.db.db.execute(sql`update agent_tokens set created_at = now() - interval '120 days' where agent_id = ${report.agent.id}`);

  // deploy-bot: one approved (Alice), one denied by a human (Bob), one denied by a rule, one by default.
  const approved = await h.post(actionRequest());
  const approvedCard = await waitForCard(h, approved.body.id);
  await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: approvedCard.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
  await eventually(async () => (await h.status(approved.body.id)) === 'committed', 15_000, 'committed');
  const denied = await h.post(actionRequest());
  const deniedCard = await waitForCard(h, denied.body.id);
  await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: deniedCard.ts, actionId: DENY_ACTION_ID, user: BOB });
  const modal = await h.slack.waitForView((v) => v.isOpen && v.callback_id === DENY_VIEW_ID && v.user === BOB);
  await h.slack.submitView({ viewId: modal.id, user: BOB, values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: 'Not this week.' } } });
  await eventually(async () => (await h.status(denied.body.id)) === 'denied', 10_000, 'denied');
  expect((await h.post(actionRequest({ action_class: 'external_automation.credentials.read' }))).status).toBe(403);
  expect((await h.post(actionRequest({ action_class: 'external_automation.unknown.thing' }))).status).toBe(403);

  // report-bot: one allowed read, one request outside its scopes.
  const read = await h.post(actionRequest({ action_class: 'external_automation.read.jobs' }), { token: reportToken });
  expect(read.status).toBe(201);
  await eventually(async () => (await h.get(`/v1/actions/${read.body.id}`, reportToken)).body.status === 'committed', 15_000, 'read committed');
  expect((await h.post(actionRequest(), { token: reportToken })).status).toBe(403);
}, 90_000);

afterAll(async () => {
  await h?.close();
});

describe('countersign review', () => {
  it('reports agents, rules, approvers and overdue tokens for the period', async () => {
    const res = await cli(['review', '--since', started.toISOString(), '--json']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const review = JSON.parse(res.stdout);
    const deploy = review.agents.find((a: { name: string }) => a.name === 'deploy-bot');
    const report = review.agents.find((a: { name: string }) => a.name === 'report-bot');
    expect(deploy).toMatchObject({ owner: 'platform', actions_by_outcome: { committed: 1, denied: 3 }, unused_scopes: [], refused: 0, token_age_days: 0 });
    expect(deploy.last_used_at).toBeTruthy();
    expect(report).toMatchObject({ owner: 'data', actions_by_outcome: { committed: 1 }, unused_scopes: ['external_automation.status.*'], refused: 1 });
    expect(report.token_age_days).toBeGreaterThanOrEqual(120);
    expect(review.totals).toEqual({ actions: 5, refused_requests: 1, default_denied: 1 });
    expect(review.rules_never_matched).toContain('deny-automation-security-control-change');
    expect(review.rules_never_matched).not.toContain('escalate-automation-state-change');
    expect(review.rules_never_matched).not.toContain('deny-automation-credential-access');
    expect(review.rules.find((r: { rule_id: string }) => r.rule_id === 'escalate-automation-state-change')).toMatchObject({ decided: 2, decided_all: false });
    expect(review.rules_matching_everything).toEqual([]);
    const approvers = Object.fromEntries(review.approvers.map((a: { approver: string }) => [a.approver, a]));
    expect(approvers[`slack:${ALICE}`]).toMatchObject({ approvals: 1, denials: 0 });
    expect(approvers[`slack:${BOB}`]).toMatchObject({ approvals: 0, denials: 1 });
    expect(approvers[`slack:${ALICE}`].median_seconds_to_decide).toBeGreaterThanOrEqual(0);
    expect(review.tokens_overdue.map((t: { agent: string }) => t.agent)).toEqual(['report-bot']);
  });

  it('writes Markdown and CSV files to --out', async () => {
    // Kept after the run (git-ignored), like the drill report: the latest real review of seeded traffic.
    const dir = join(process.cwd(), 'test-artifacts', 'review');
    rmSync(dir, { recursive: true, force: true });
    const res = await cli(['review', '--since', '1d', '--out', dir, '--rotate-after', '30']);
    expect(res.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['review-agents.csv', 'review-approvers.csv', 'review-rules.csv', 'review-tokens-overdue.csv', 'review.json', 'review.md']);
    const md = readFileSync(join(dir, 'review.md'), 'utf8');
    expect(md).toMatch(/^# Access and policy review/);
    expect(md).toContain('| report-bot | data | active |');
    expect(md).toContain('external_automation.status.*');
    expect(md).toContain('## Tokens overdue for rotation (older than 30 days)');
    const agents = parseCsv(readFileSync(join(dir, 'review-agents.csv'), 'utf8'));
    expect(agents.map((a) => a.agent).sort()).toEqual(['deploy-bot', 'report-bot']);
    expect(agents.find((a) => a.agent === 'report-bot')).toMatchObject({ unused_scopes: 'external_automation.status.*', refused: '1' });
    const rules = parseCsv(readFileSync(join(dir, 'review-rules.csv'), 'utf8'));
    expect(rules.find((r) => r.rule_id === 'deny-automation-security-control-change')).toMatchObject({ never_matched: 'true', decided: '0' });
    const approvers = parseCsv(readFileSync(join(dir, 'review-approvers.csv'), 'utf8'));
    expect(approvers.map((a) => a.approver).sort()).toEqual([`slack:${ALICE}`, `slack:${BOB}`]);
  });

  it('a period with no traffic finds every rule unmatched and no approvals', async () => {
    const res = await cli(['review', '--since', '2020-01-01', '--until', '2020-02-01', '--json']);
    const review = JSON.parse(res.stdout);
    expect(review.totals).toEqual({ actions: 0, refused_requests: 0, default_denied: 0 });
    expect(review.rules_never_matched).toHaveLength(review.rules.length);
    expect(review.approvers).toEqual([]);
    // Token age is about now, not the period: the overdue token is still reported.
    expect(review.tokens_overdue.map((t: { agent: string }) => t.agent)).toEqual(['report-bot']);
  });

  it('refuses a bad period with usage (exit 2) and a broken policy bundle (exit 1)', async () => {
    expect((await cli(['review', '--since', 'yesterday'])).code).toBe(2);
    expect((await cli(['review', '--since', '2026-01-02', '--until', '2026-01-01'])).code).toBe(2);
    expect((await cli(['review', '--rotate-after', '-3'])).code).toBe(2);
    const broken = mkdtempSync(join(tmpdir(), 'cs-broken-policy-'));
    writeFileSync(join(broken, 'bad.yaml'), 'name: bad\nrules: [ { id: x } ]\n');
    const res = await cli(['review', '--policies', broken]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('refused');
  });
});

describe('countersign matrix', () => {
  const configYaml = `
approver_groups:
  automation-ops: { channel: ${AUTOMATION_OPS_CHANNEL}, members: [${ALICE}, ${BOB}] }
executors:
  - name: automation
    action_classes: ["external_automation.*"]
    url: http://127.0.0.1:9/execute
    secret: \${MATRIX_EXECUTOR_SECRET}
    rate_limit: { max: 10, per_seconds: 60 }
    contracts:
      external_automation.webhook.rotate_secret: { type: object, properties: { id: { type: string } } }
budgets:
  - { name: workflow-runs, per: agent_day, max: 20, action_classes: ["external_automation.workflow.*"] }
`;

  it('lists every class the policy and the contracts name, with approvers, limits and scope holders', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-matrix-'));
    writeFileSync(join(dir, 'countersign.yaml'), configYaml);
    process.env.MATRIX_EXECUTOR_SECRET = 'matrix-secret-0123456789';
    const res = await cli(['matrix', '--config', join(dir, 'countersign.yaml'), '--out', join(dir, 'matrix.csv')]);
    expect(res.code).toBe(0);
    const rows = parseCsv(readFileSync(join(dir, 'matrix.csv'), 'utf8'));
    const create = rows.filter((r) => r.action_class === 'external_automation.workflow.create');
    expect(create.map((r) => r.rule_id)).toEqual(['deny-high-target-count-automation', 'escalate-automation-state-change']);
    expect(create[1]).toMatchObject({
      source: 'policy',
      decision: 'escalate',
      approver_group: 'automation-ops',
      approvers: `${ALICE} ${BOB}`,
      quorum: '1',
      high_risk: 'false',
      executor: 'automation',
      budgets: 'workflow-runs: max 20 per agent_day',
      executor_rate_limit: '10 per 60s',
      agents_with_scope: 'deploy-bot:600/min',
    });
    expect(create[0]!.conditions).toContain('blast_radius_max');
    expect(rows.find((r) => r.action_class === 'external_automation.read.*')).toMatchObject({ decision: 'allow', agents_with_scope: 'deploy-bot:600/min; report-bot:600/min', budgets: '' });
    expect(rows.find((r) => r.action_class === 'external_automation.credentials.*')!.agents_with_scope).toBe('deploy-bot:600/min');
    // Every glob of every rule has its row; the class only a contract names has one too, decided as policy would.
    const ruleGlobs = (await import('../../src/policy')).loadPolicyBundle('policies').then((r) => (r.ok ? r.bundle.rules.flatMap((x) => x.globs.map((g) => g.text)) : []));
    expect(rows.filter((r) => r.source === 'policy')).toHaveLength((await ruleGlobs).length);
    expect(rows.find((r) => r.action_class === 'external_automation.webhook.rotate_secret')).toMatchObject({ source: 'contract', decision: 'deny', rule_id: '(default deny)', contract: 'external_automation.webhook.rotate_secret' });
  });

  it('marks partial scopes and suspended agents', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-matrix-'));
    writeFileSync(join(dir, 'countersign.yaml'), configYaml);
    await createAgent(h.db.db, { name: 'narrow-bot', owner: 'ops', scopes: ['external_automation.read.jobs'], rateLimitPerMinute: 5 }, 'admin:test');
    await h.db.db.execute(sql`update agents set status = 'suspended' where name = 'narrow-bot'`);
    const res = await cli(['matrix', '--config', join(dir, 'countersign.yaml')]);
    expect(res.code).toBe(0);
    const rows = parseCsv(res.stdout.replace(/\n$/, ''));
    expect(rows.find((r) => r.action_class === 'external_automation.read.*')!.agents_with_scope).toBe('deploy-bot:600/min; narrow-bot (partial) [suspended]:5/min; report-bot:600/min');
  });

  it('fails on a config that does not validate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cs-matrix-'));
    writeFileSync(join(dir, 'countersign.yaml'), 'executors: [ { name: BAD } ]\n');
    await expect(cli(['matrix', '--config', join(dir, 'countersign.yaml')])).rejects.toThrow(/invalid configuration/);
  });
});
