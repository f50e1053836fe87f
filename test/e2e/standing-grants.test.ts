import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { approvals, standingGrants } from '../../src/db/schema';
import { createAgent } from '../../src/auth/agents';
import { killAgent, resumeAgent } from '../../src/controls/kill-switch';
import { rotateAgentToken } from '../../src/auth/token-admin';
import { startCountersign, type Countersign } from '../../src/main';
import { endStaleGrants } from '../../src/grants/store';
import { runCli } from '../../src/cli/main';
import {
  APPROVE_ACTION_ID,
  APPROVE_SIMILAR_ACTION_ID,
  GRANT_COUNT_BLOCK,
  GRANT_COUNT_INPUT,
  GRANT_DURATION_BLOCK,
  GRANT_DURATION_INPUT,
  GRANT_REVOKE_ACTION_ID,
  GRANT_VIEW_ID,
} from '../../src/slack/interaction-ids';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, MALLORY, actionRequest, eventually } from '../support/harness';
import { blockText, slackTestConfig, startSlackHarness, waitForCard, waitForCardState, type SlackHarness } from '../support/slack';

/** Job runs may be granted: run_id varies freely, target_count up to 5; everything else must repeat exactly. */
const GRANTS_POLICY = `
name: grants-tests
version: "1"
rules:
  - id: runs-standing
    applies_to: { action_class: [external_automation.job.run] }
    decision: escalate
    escalation:
      via: automation-ops
      standing: { max_duration: 2h, max_count: 5, variable: { run_id: {}, target_count: { max: 5 } } }
    reasoning: Job runs need automation-ops; similar runs may be granted.
  - id: reruns-quorum
    applies_to: { action_class: [external_automation.job.rerun] }
    decision: escalate
    escalation: { via: automation-ops, approvals: 2, standing: { max_duration: 1h, max_count: 4, variable: { run_id: {} } } }
    reasoning: Re-runs need two approvals.
  - id: workflows-no-standing
    applies_to: { action_class: [external_automation.workflow.create] }
    decision: escalate
    escalation: { via: automation-ops }
    reasoning: Workflows are approved one by one.
`;

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness({ policy: GRANTS_POLICY });
});
afterAll(async () => {
  await h?.close();
});

let runs = 0;
/** Each test runs its own job, so one test's grant never approves another's requests. */
let job = 'job-0';
const run = (overrides: Record<string, unknown> = {}) =>
  actionRequest({ action_class: 'external_automation.job.run', params: { job, run_id: `r${++runs}`, target_count: 2, ...overrides } });
beforeEach(() => {
  job = `job-${++runs}`;
});

async function approveSimilar(actionId: string, user: string, durationSeconds: number, count: number) {
  const card = await waitForCard(h, actionId);
  expect(blockText(card.blocks)).toContain(APPROVE_SIMILAR_ACTION_ID);
  await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_SIMILAR_ACTION_ID, user });
  const modal = await h.slack.waitForView((v) => v.isOpen && v.callback_id === GRANT_VIEW_ID && v.user === user);
  const submitted = await h.slack.submitView({
    viewId: modal.id,
    user,
    values: { [GRANT_DURATION_BLOCK]: { [GRANT_DURATION_INPUT]: String(durationSeconds) }, [GRANT_COUNT_BLOCK]: { [GRANT_COUNT_INPUT]: String(count) } },
  });
  expect(submitted.ok).toBe(true);
  return { card, modal };
}

async function grantOf(originId: string) {
  return eventually(async () => (await h.db.db.select().from(standingGrants).where(eq(standingGrants.originActionId, originId)))[0], 10_000, `grant of ${originId}`);
}

async function newGrant(count = 3, durationSeconds = 3600, token?: string) {
  const origin = await h.post(run(), { token });
  expect(origin.body.status).toBe('pending_approval');
  await approveSimilar(origin.body.id, ALICE, durationSeconds, count);
  const grant = await grantOf(origin.body.id);
  return { originId: origin.body.id as string, grant };
}

describe('standing grants: "Approve this and similar"', () => {
  it('the form says what "similar" means and offers only the rule\'s limits; rules without standing do not offer it', async () => {
    const origin = await h.post(run());
    const card = await waitForCard(h, origin.body.id);
    expect(blockText(card.blocks)).toMatch(/same agent and action class, the same parameters except run_id \(any value\); target_count \(≤ 5\); up to 5 within 2 h/);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_SIMILAR_ACTION_ID, user: BOB });
    const modal = await h.slack.waitForView((v) => v.isOpen && v.callback_id === GRANT_VIEW_ID && v.user === BOB);
    const form = JSON.stringify(modal.view.blocks);
    expect(form).toContain('"max_value":"5"');
    expect(form).toContain('"value":"7200"');
    expect(form).not.toContain('"value":"86400"'); // longer than the rule's 2 h
    await h.slack.closeView({ viewId: modal.id, user: BOB });

    const workflow = await h.post(actionRequest());
    const wcard = await waitForCard(h, workflow.body.id);
    expect(blockText(wcard.blocks)).not.toContain(APPROVE_SIMILAR_ACTION_ID);
  });

  it('approves later similar requests by the grant, records each use, counts it on the card, and ends at its count', async () => {
    const { originId, grant } = await newGrant(2);
    expect(grant).toMatchObject({ status: 'active', maxCount: 2, usedCount: 0, approvers: [`slack:${ALICE}`], ruleId: 'runs-standing' });
    expect(grant.expiresAt.getTime() - grant.createdAt.getTime()).toBeGreaterThan(3590_000);
    await eventually(async () => ((await h.status(originId)) === 'committed' ? true : null), 15_000, 'origin committed');

    const first = await h.post(run({ target_count: 5 }));
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'approved', grant_id: grant.id });
    expect(first.body.receipt.payload.approvers).toEqual([`slack:${ALICE}`]);
    await eventually(async () => ((await h.status(first.body.id)) === 'committed' ? true : null), 15_000, 'granted action committed');
    const [approved] = await h.events(first.body.id, 'action.approved');
    expect(approved!.actor).toBe(`grant:${grant.id}`);
    expect(approved!.data).toMatchObject({ by: 'grant', grant_id: grant.id, origin_action_id: originId, approvers: [`slack:${ALICE}`], use: 1, max_count: 2 });
    const linked = await h.db.db.select().from(approvals).where(eq(approvals.actionId, first.body.id));
    expect(linked).toMatchObject([{ approver: `slack:${ALICE}`, verdict: 'approve', grantId: grant.id, payloadHash: first.body.payload_hash }]);
    const [used] = await h.events(originId, 'grant.used');
    expect(used!.data).toMatchObject({ action_id: first.body.id, use: 1 });
    // No card for an action a grant approved; the card that gave the grant counts it.
    const card = await waitForCard(h, originId);
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('1 of 2 used'), 'card counts the use');
    expect(h.slack.messages(AUTOMATION_OPS_CHANNEL).some((m) => blockText(m.blocks).includes(first.body.id))).toBe(false);

    const second = await h.post(run());
    expect(second.body).toMatchObject({ status: 'approved', grant_id: grant.id });
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('all uses taken') && t.includes('2 of 2 used') && !t.includes(GRANT_REVOKE_ACTION_ID), 'card says it is used up');
    expect((await h.events(originId, 'grant.ended'))[0]!.data).toMatchObject({ reason: 'exhausted' });

    // Beyond its count: asked of humans as usual.
    const third = await h.post(run());
    expect(third.body.status).toBe('pending_approval');
    expect(third.body.grant_id).toBeUndefined();
    await waitForCard(h, third.body.id);
  });

  it('never approves a payload outside its bounds, with a different fixed field, or from another agent', async () => {
    const { grant } = await newGrant(5);
    const over = await h.post(run({ target_count: 6 }));
    expect(over.body.status).toBe('pending_approval');
    const otherJob = await h.post(run({ job: 'wipe-everything' }));
    expect(otherJob.body.status).toBe('pending_approval');
    const missingField = await h.post(actionRequest({ action_class: 'external_automation.job.run', params: { job, run_id: 'x', target_count: 1, extra: 1 } }));
    expect(missingField.body.status).toBe('pending_approval');
    expect(otherJob.body.status).toBe('pending_approval');
    const extraField = await h.post(run({ force: true }));
    expect(extraField.body.status).toBe('pending_approval');
    const { token } = await createAgent(h.db.db, { name: 'other-bot', owner: 'platform', scopes: ['external_automation.*'] }, 'admin:test');
    const foreign = await h.post(run(), { token });
    expect(foreign.body.status).toBe('pending_approval');
    const [row] = await h.db.db.select().from(standingGrants).where(eq(standingGrants.id, grant.id));
    expect(row!.usedCount).toBe(0);
  });

  it('ends with time and with a policy change: neither a stale nor an out-of-date grant approves anything', async () => {
    const timed = await newGrant(5);
    await h.db.db.update(standingGrants).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(standingGrants.id, timed.grant.id));
    expect((await h.post(run())).body.status).toBe('pending_approval');
    await endStaleGrants(h.db.db, null);
    expect((await h.events(timed.originId, 'grant.ended'))[0]!.data).toMatchObject({ reason: 'expired' });

    const versioned = await newGrant(5);
    await h.db.db.update(standingGrants).set({ policyVersion: 'pb_an_older_bundle' }).where(eq(standingGrants.id, versioned.grant.id));
    expect((await h.post(run())).body.status).toBe('pending_approval');
    const current = versioned.grant.policyVersion;
    await endStaleGrants(h.db.db, current);
    expect((await h.events(versioned.originId, 'grant.ended'))[0]!.data).toMatchObject({ reason: 'policy-changed' });
  });

  it('is revoked from its card by an approver (not by an outsider), and then approves nothing', async () => {
    const { originId, grant } = await newGrant(5);
    const card = await waitForCard(h, originId);
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes(GRANT_REVOKE_ACTION_ID), 'revoke button');
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: GRANT_REVOKE_ACTION_ID, user: MALLORY });
    await h.slack.waitFor(() => h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, MALLORY).find((e) => e.text.includes('only members of automation-ops')), { description: 'refusal' });
    expect((await h.post(run())).body.grant_id).toBe(grant.id);

    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: GRANT_REVOKE_ACTION_ID, user: BOB });
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('revoked') && !t.includes(GRANT_REVOKE_ACTION_ID), 'card says revoked');
    const [ended] = await h.events(originId, 'grant.ended');
    expect(ended).toMatchObject({ actor: `slack:${BOB}`, data: { reason: 'revoked', used: 1 } });
    expect((await h.post(run())).body.status).toBe('pending_approval');
  });

  it('ends on the kill switch: after a kill and a resume the agent is asked again', async () => {
    const created = await createAgent(h.db.db, { name: 'kill-bot', owner: 'platform', scopes: ['external_automation.*'] }, 'admin:test');
    const { originId, grant } = await newGrant(5, 3600, created.token);
    expect((await h.post(run(), { token: created.token })).body.grant_id).toBe(grant.id);
    await killAgent(h.db.db, 'kill-bot', 'admin:test', 'drill');
    const [row] = await h.db.db.select().from(standingGrants).where(eq(standingGrants.id, grant.id));
    expect(row).toMatchObject({ status: 'ended', endedReason: 'agent-killed' });
    expect((await h.events(originId, 'grant.ended'))[0]!.data).toMatchObject({ reason: 'agent-killed' });
    await resumeAgent(h.db.db, 'kill-bot', 'admin:test');
    const { token } = await rotateAgentToken(h.db.db, 'kill-bot', 0, 'admin:test');
    const after = await h.post(run(), { token });
    expect(after.body.status).toBe('pending_approval');
  });

  it('needs the rule\'s quorum: one plain approval among two gives no grant; two asks give the smaller one', async () => {
    const rerun = (id: string) => actionRequest({ action_class: 'external_automation.job.rerun', params: { job: 'nightly-sync', run_id: id } });
    const plain = await h.post(rerun('a'));
    await approveSimilar(plain.body.id, ALICE, 3600, 4);
    const card = await waitForCard(h, plain.body.id);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: BOB });
    await eventually(async () => ((await h.status(plain.body.id)) !== 'pending_approval' ? true : null), 10_000, 'approved by two');
    expect(await h.db.db.select().from(standingGrants).where(eq(standingGrants.originActionId, plain.body.id))).toEqual([]);

    const both = await h.post(rerun('b'));
    await approveSimilar(both.body.id, ALICE, 3600, 4);
    expect(await h.db.db.select().from(standingGrants).where(eq(standingGrants.originActionId, both.body.id))).toEqual([]);
    await approveSimilar(both.body.id, BOB, 1800, 2);
    const grant = await grantOf(both.body.id);
    expect(grant).toMatchObject({ maxCount: 2, approvers: [`slack:${ALICE}`, `slack:${BOB}`] });
    expect(grant.expiresAt.getTime() - grant.createdAt.getTime()).toBeLessThan(1801_000);
    const used = await h.post(rerun('c'));
    expect(used.body.grant_id).toBe(grant.id);
    expect(used.body.receipt.payload.approvers).toEqual([`slack:${ALICE}`, `slack:${BOB}`]);
  });

  it('refuses a grant request beyond the rule\'s limits (a forged submission) and records nothing but the refusal', async () => {
    const origin = await h.post(run());
    const { modal } = await (async () => {
      const card = await waitForCard(h, origin.body.id);
      await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_SIMILAR_ACTION_ID, user: ALICE });
      return { modal: await h.slack.waitForView((v) => v.isOpen && v.callback_id === GRANT_VIEW_ID && v.user === ALICE) };
    })();
    // A client that ignores the form's max_value: the core checks the rule's limits again.
    await h.slack.submitView({ viewId: modal.id, user: ALICE, values: { [GRANT_DURATION_BLOCK]: { [GRANT_DURATION_INPUT]: '7200' }, [GRANT_COUNT_BLOCK]: { [GRANT_COUNT_INPUT]: '500' } } });
    await eventually(async () => ((await h.events(origin.body.id, 'approval.refused')).length ? true : null), 10_000, 'refusal');
    expect((await h.events(origin.body.id, 'approval.refused'))[0]!.data).toMatchObject({ reason: 'grant-not-allowed' });
    expect(await h.status(origin.body.id)).toBe('pending_approval');
  });
});

describe('standing grants from the operator CLI', () => {
  async function cli(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const saved = { DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL, COUNTERSIGN_QUEUE_PREFIX: process.env.COUNTERSIGN_QUEUE_PREFIX };
    Object.assign(process.env, { DATABASE_URL: h.db.url, REDIS_URL: h.env.REDIS_URL, COUNTERSIGN_QUEUE_PREFIX: h.prefix });
    try {
      const code = await runCli(args, { stdout: (t) => out.push(t), stderr: (t) => err.push(t), readStdin: async () => '' });
      return { code, stdout: out.join('\n'), stderr: err.join('\n') };
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }

  it('lists grants with their uses, shows a use in `audit show`, and revokes (the card follows)', async () => {
    const { originId, grant } = await newGrant(4);
    const used = await h.post(run());
    expect(used.body.grant_id).toBe(grant.id);

    const listed = await cli(['grants', 'list', '--active', '--json']);
    expect(listed.code).toBe(0);
    const mine = (JSON.parse(listed.stdout) as Array<{ id: string; uses: string[]; used_count: number }>).find((g) => g.id === grant.id)!;
    expect(mine).toMatchObject({ used_count: 1, uses: [used.body.id] });

    const shown = await cli(['audit', 'show', used.body.id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`approved by standing grant ${grant.id} of slack:${ALICE} (given on ${originId}; use 1 of 4)`);
    const origin = await cli(['audit', 'show', originId]);
    expect(origin.stdout).toMatch(new RegExp(`standing grant ${grant.id} given by slack:${ALICE}: up to 4 similar requests`));
    expect(origin.stdout).toContain(`standing grant ${grant.id} approved ${used.body.id} (use 1 of 4)`);

    const revoked = await cli(['grants', 'revoke', grant.id, '--reason', 'incident 42']);
    expect(revoked.code).toBe(0);
    expect((await cli(['grants', 'revoke', grant.id])).code).toBe(3);
    const card = await waitForCard(h, originId);
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('revoked') && !t.includes(GRANT_REVOKE_ACTION_ID), 'card says revoked');
    expect((await h.events(originId, 'grant.ended'))[0]).toMatchObject({ actor: expect.stringMatching(/^admin:cli:/), data: { reason: 'revoked', why: 'incident 42' } });
    expect((await h.post(run())).body.status).toBe('pending_approval');
  });
});

describe('standing grants across instances', () => {
  let second: Countersign | null = null;
  afterAll(async () => {
    await second?.close();
  });

  it('two instances racing for a grant\'s last uses: exactly max_count requests are approved by it', async () => {
    const { grant } = await newGrant(3);
    second = await startCountersign({ ...h.env, SLACK_BOT_TOKEN: undefined, SLACK_SIGNING_SECRET: undefined }, { config: slackTestConfig(h.executor.url) });
    const post = (url: string) =>
      fetch(`${url}/v1/actions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${h.token}` }, body: JSON.stringify(run()) }).then(
        async (r) => (await r.json()) as { status: string; grant_id?: string },
      );
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => post(i % 2 ? h.app.url : second!.url)));
    expect(answers.filter((a) => a.grant_id === grant.id)).toHaveLength(3);
    expect(answers.filter((a) => a.status === 'pending_approval')).toHaveLength(7);
    const [row] = await h.db.db.select().from(standingGrants).where(eq(standingGrants.id, grant.id));
    expect(row).toMatchObject({ usedCount: 3, status: 'ended', endedReason: 'exhausted' });
  });
});
