import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APPROVE_ACTION_ID,
  EDIT_ACTION_ID,
  EDIT_PARAMS_BLOCK,
  EDIT_PARAMS_INPUT,
  EDIT_REASON_BLOCK,
  EDIT_REASON_INPUT,
  EDIT_VIEW_ID,
  NOTICE_VIEW_ID,
} from '../../src/slack/interaction-ids';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, MALLORY, actionRequest, eventually } from '../support/harness';
import { CAROL, ON_CALL_CHANNEL, blockText, slackTestConfig, startSlackHarness, waitForCard, waitForCardState, type SlackHarness } from '../support/slack';

/** Over 25 targets is denied; over 10 goes to on-call; the rest to automation-ops (two approvals for job runs). */
const EDITS_POLICY = `
name: edits-tests
version: "1"
rules:
  - id: deny-over-25
    applies_to: { action_class: [external_automation.workflow.create, external_automation.job.run] }
    conditions: [{ type: blast_radius_max, parameter: target_count, threshold: 25 }]
    decision: deny
    reasoning: More than 25 targets is never allowed.
  - id: on-call-over-10
    applies_to: { action_class: [external_automation.workflow.create] }
    conditions: [{ type: blast_radius_max, parameter: target_count, threshold: 10 }]
    decision: escalate
    escalation: { via: on-call }
    reasoning: Large workflows need on-call.
  - id: ops-workflows
    applies_to: { action_class: [external_automation.workflow.create] }
    decision: escalate
    escalation: { via: automation-ops }
    reasoning: Workflows need automation-ops.
  - id: ops-runs-quorum
    applies_to: { action_class: [external_automation.job.run] }
    decision: escalate
    escalation: { via: automation-ops, approvals: 2 }
    reasoning: Job runs need two approvals.
`;

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness({ policy: EDITS_POLICY });
});
afterAll(async () => {
  await h?.close();
});

const workflow = (params: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  actionRequest({ params: { name: 'nightly-sync', schedule: '0 3 * * *', target_count: 3, ...params }, ...extra });

async function openEdit(actionId: string, user: string, channel = AUTOMATION_OPS_CHANNEL) {
  const card = await waitForCard(h, actionId, channel);
  const before = new Set(h.slack.openedViews().map((v) => v.id));
  await h.slack.clickButton({ channel, ts: card.ts, actionId: EDIT_ACTION_ID, user });
  const modal = await h.slack.waitForView((v) => !before.has(v.id) && v.isOpen && v.user === user && (v.callback_id === EDIT_VIEW_ID || (v.callback_id === NOTICE_VIEW_ID && !JSON.stringify(v.view.blocks).includes('Loading'))));
  return { card, modal };
}

function submitEdit(viewId: string, user: string, params: unknown, reason = '') {
  return h.slack.submitView({
    viewId,
    user,
    values: { [EDIT_PARAMS_BLOCK]: { [EDIT_PARAMS_INPUT]: typeof params === 'string' ? params : JSON.stringify(params) }, [EDIT_REASON_BLOCK]: { [EDIT_REASON_INPUT]: reason } },
  });
}

describe('approve with edits', () => {
  it('an approver fixes a parameter: contract, policy and hash again; the executor gets only the edited payload; agent and audit see both', async () => {
    const created = await h.post(workflow({ schedule: '0 3 * * * *' }));
    const id: string = created.body.id;
    const askedHash: string = created.body.payload_hash;
    const { card, modal } = await openEdit(id, ALICE);
    expect(modal.callback_id).toBe(EDIT_VIEW_ID);
    expect(JSON.stringify(modal.view.blocks)).toContain('0 3 * * * *');

    const edited = { name: 'nightly-sync', schedule: '0 3 * * *', target_count: 3 };
    const ok = await submitEdit(modal.id, ALICE, edited, 'six fields is not a cron schedule');
    expect(ok.ok).toBe(true);
    expect(ok.body ? JSON.parse(ok.body).response_action : undefined).toBeUndefined();
    await eventually(async () => ((await h.status(id)) === 'committed' ? true : null), 15_000, 'committed');

    // The executor received the approved (edited) payload only.
    const calls = h.executor.calls.filter((c) => c.body.action_id === id);
    expect(calls.length).toBeGreaterThan(0);
    for (const c of calls) expect(c.body.params).toEqual(edited);
    const view = (await h.get(`/v1/actions/${id}`)).body;
    expect(view.payload_hash).not.toBe(askedHash);
    expect(calls[0]!.body.payload_hash).toBe(view.payload_hash);
    expect(view.edited).toMatchObject({
      by: `slack:${ALICE}`,
      reason: 'six fields is not a cron schedule',
      original_params: { name: 'nightly-sync', schedule: '0 3 * * * *', target_count: 3 },
      original_payload_hash: askedHash,
      params: edited,
      changes: [{ path: 'schedule', before: '0 3 * * * *', after: '0 3 * * *' }],
    });

    const [editEvent] = await h.events(id, 'action.edited');
    expect(editEvent).toMatchObject({ actor: `slack:${ALICE}`, data: { previous_payload_hash: askedHash, payload_hash: view.payload_hash, decision: 'escalate', rule_id: 'ops-workflows' } });
    const [recorded] = await h.events(id, 'approval.recorded');
    expect(recorded!.data).toMatchObject({ verdict: 'approve', payload_hash: view.payload_hash });
    const [requested] = await h.events(id, 'action.requested');
    expect(requested!.data).toMatchObject({ params: { schedule: '0 3 * * * *' }, payload_hash: askedHash });
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Edited by <@U0ALICE>') && t.includes('schedule: \\"0 3 * * * *\\" → \\"0 3 * * *\\"'), 'card shows the edit');
  });

  it('an edit that reaches a denied payload is refused on the field; nothing changes', async () => {
    const created = await h.post(workflow({}));
    const { modal } = await openEdit(created.body.id, ALICE);
    const refused = await submitEdit(modal.id, ALICE, { name: 'nightly-sync', schedule: '0 3 * * *', target_count: 40 });
    expect(JSON.parse(refused.body)).toMatchObject({ response_action: 'errors', errors: { [EDIT_PARAMS_BLOCK]: expect.stringMatching(/policy denies the edited request \(deny-over-25\)/) } });
    const bad = await submitEdit(modal.id, ALICE, '{"name": ');
    expect(JSON.parse(bad.body)).toMatchObject({ response_action: 'errors', errors: { [EDIT_PARAMS_BLOCK]: expect.stringMatching(/not valid JSON/) } });
    const view = (await h.get(`/v1/actions/${created.body.id}`)).body;
    expect(view).toMatchObject({ status: 'pending_approval', payload_hash: created.body.payload_hash });
    expect(view.edited).toBeUndefined();
    expect((await h.events(created.body.id, 'approval.edit_refused'))[0]!.data).toMatchObject({ reason: 'policy-denies' });
    expect(h.executor.calls.some((c) => c.body.action_id === created.body.id)).toBe(false);
  });

  it('a non-member cannot edit, nor the person the agent acts for; nothing is recorded but the refusal', async () => {
    const created = await h.post(workflow({}));
    const { modal } = await openEdit(created.body.id, MALLORY);
    expect(modal.callback_id).toBe(NOTICE_VIEW_ID);
    expect(JSON.stringify(modal.view.blocks)).toMatch(/not in the approver group/);
    expect((await h.events(created.body.id, 'approval.refused'))[0]!.data).toMatchObject({ reason: 'not-authorized' });

    const mine = await h.post(workflow({}, { on_behalf_of: ALICE }));
    const own = await openEdit(mine.body.id, ALICE);
    expect(own.modal.callback_id).toBe(NOTICE_VIEW_ID);
    expect((await h.get(`/v1/actions/${mine.body.id}`)).body.edited).toBeUndefined();
  });

  it('an edit that needs another approver group goes there; the editor\'s approval is not counted', async () => {
    const created = await h.post(workflow({}));
    const id: string = created.body.id;
    const { card, modal } = await openEdit(id, ALICE);
    await submitEdit(modal.id, ALICE, { name: 'nightly-sync', schedule: '0 3 * * *', target_count: 15 });
    const oncallCard = await waitForCard(h, id, ON_CALL_CHANNEL);
    expect(blockText(oncallCard.blocks)).toContain('Edited by <@U0ALICE>');
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('was edited and now needs another approver group'), 'old card points away');
    const view = (await h.get(`/v1/actions/${id}`)).body;
    expect(view).toMatchObject({ status: 'pending_approval', decision: { rule_id: 'on-call-over-10', escalation: { via: 'on-call' } } });
    expect(await h.events(id, 'approval.recorded')).toEqual([]);
    // automation-ops can no longer decide it; on-call can.
    await h.slack.clickButton({ channel: ON_CALL_CHANNEL, ts: oncallCard.ts, actionId: APPROVE_ACTION_ID, user: BOB });
    await eventually(async () => ((await h.events(id, 'approval.refused')).length ? true : null), 10_000, 'refused');
    await h.slack.clickButton({ channel: ON_CALL_CHANNEL, ts: oncallCard.ts, actionId: APPROVE_ACTION_ID, user: CAROL });
    await eventually(async () => ((await h.status(id)) === 'committed' ? true : null), 15_000, 'committed');
    expect(h.executor.calls.find((c) => c.body.action_id === id)!.body.params).toMatchObject({ target_count: 15 });
  });

  it('with a quorum, answers to the payload before the edit do not count for the edited one', async () => {
    const created = await h.post(actionRequest({ action_class: 'external_automation.job.run', params: { job: 'sync', target_count: 3 } }));
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: BOB });
    await eventually(async () => ((await h.events(id, 'approval.recorded')).length ? true : null), 10_000, 'bob recorded');
    const { modal } = await openEdit(id, ALICE);
    await submitEdit(modal.id, ALICE, { job: 'sync', target_count: 2 });
    await eventually(async () => ((await h.events(id, 'approval.recorded')).length === 2 ? true : null), 10_000, 'alice recorded');
    // Bob approved the old payload: the edited one has 1 of 2.
    expect(await h.status(id)).toBe('pending_approval');
    const fresh = await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Approvals: 1 of 2') && t.includes('Edited by'), 'card restarts the count');
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: fresh.ts, actionId: APPROVE_ACTION_ID, user: BOB });
    await eventually(async () => ((await h.status(id)) === 'committed' ? true : null), 15_000, 'committed');
    const approved = (await h.events(id, 'action.approved'))[0]!;
    expect((approved.data as { approvers: string[] }).approvers.sort()).toEqual([`slack:${ALICE}`, `slack:${BOB}`]);
  });

  it('the agent\'s long poll returns the edit with the final payload', async () => {
    const created = await h.post(workflow({ name: 'typo-name' }));
    const id: string = created.body.id;
    const poll = h.get(`/v1/actions/${id}?wait=20&status=pending_approval`);
    const { modal } = await openEdit(id, BOB);
    await submitEdit(modal.id, BOB, { name: 'good-name', schedule: '0 3 * * *', target_count: 3 });
    const polled = (await poll).body;
    expect(polled.status).not.toBe('pending_approval');
    expect(polled.edited).toMatchObject({ by: `slack:${BOB}`, params: { name: 'good-name' }, original_params: { name: 'typo-name' } });
  });
});

describe('approve with edits, where the executor prepares', () => {
  let p: SlackHarness;
  beforeAll(async () => {
    p = await startSlackHarness({
      policy: EDITS_POLICY,
      // The executor, not the params, says how many targets a plan touches: the number of `targets`.
      executor: {
        respond: (call) => {
          if (call.body.mode !== 'prepare') return { status: 200, body: { ok: true } };
          const targets = ((call.body.params as { targets?: string[] }).targets ?? []).length;
          return { status: 200, body: { facts: { target_count: targets }, preview: `touches ${targets} targets`, plan: { targets } } };
        },
      },
      configFor: (url) => slackTestConfig(url, `    prepare_url: ${url.replace('/execute', '/prepare')}`),
    });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('prepares the edit again: its facts decide (a plan over the cap is refused), and the approval binds to the new plan hash', async () => {
    h = p;
    const targets = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);
    const created = await p.post(actionRequest({ params: { name: 'prep', targets: targets(3) } }));
    expect(created.body.status).toBe('pending_approval');
    const askedPlan: string = created.body.plan_hash;
    const { modal } = await openEdit(created.body.id, ALICE);

    // The params say nothing about a count; the executor's plan says 30: denied.
    const refused = await submitEdit(modal.id, ALICE, { name: 'prep', targets: targets(30) });
    expect(JSON.parse(refused.body).errors[EDIT_PARAMS_BLOCK]).toMatch(/deny-over-25/);

    await submitEdit(modal.id, ALICE, { name: 'prep', targets: targets(2) });
    await eventually(async () => ((await p.status(created.body.id)) === 'committed' ? true : null), 15_000, 'committed');
    const view = (await p.get(`/v1/actions/${created.body.id}`)).body;
    expect(view.plan_hash).not.toBe(askedPlan);
    expect(view.prepared).toMatchObject({ facts: { target_count: 2 }, preview: 'touches 2 targets' });
    const commit = p.executor.calls.find((c) => c.body.mode === undefined && c.body.action_id === created.body.id)!;
    expect(commit.body).toMatchObject({ plan_hash: view.plan_hash, payload_hash: view.payload_hash, params: { targets: targets(2) } });
    expect((await p.events(created.body.id, 'action.edited'))[0]!.data).toMatchObject({ plan_hash: view.plan_hash });
  });
});
