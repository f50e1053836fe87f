import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { approvals, auditEvents } from '../../src/db/schema';
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from '../../src/slack/blocks/approval-card';
import { DENY_REASON_BLOCK, DENY_REASON_INPUT, DENY_VIEW_ID, NOTICE_VIEW_ID } from '../../src/slack/interaction-ids';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, MALLORY, actionRequest, eventually } from '../support/harness';
import {
  CAROL,
  DAVE,
  ON_CALL_CHANNEL,
  ON_CALL_USERGROUP,
  ROBOT,
  SLACK_TEST_POLICY,
  blockText,
  hasButtons,
  startSlackHarness,
  waitForCard,
  waitForCardState,
  type SlackHarness,
} from '../support/slack';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness({ policy: SLACK_TEST_POLICY });
});
afterAll(async () => {
  await h?.close();
});

const lastEphemeral = (user: string, channel = AUTOMATION_OPS_CHANNEL, after = 0) =>
  eventually(async () => h.slack.ephemerals(channel, user).slice(after).at(-1), 5_000, `an ephemeral for ${user}`);
const events = (id: string, type: string) => h.db.db.select().from(auditEvents).where(and(eq(auditEvents.actionId, id), eq(auditEvents.type, type)));

describe('quorum: approvals: 2 needs two distinct approvers', () => {
  it('shows progress after each approval, refuses the same approver twice, releases on the second', async () => {
    const created = await h.post(actionRequest({ action_class: 'external_automation.job.run' }));
    expect(created.body).toMatchObject({ status: 'pending_approval', approvals_required: 2 });
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    expect(blockText(card.blocks)).toContain('Approvals: 0 of 2');
    expect(blockText(card.blocks)).toContain('2 approvals needed');

    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
    const progressed = await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Approvals: 1 of 2'), 'one approval shown');
    expect(blockText(progressed.blocks)).toContain(`<@${ALICE}>`);
    expect(hasButtons(progressed)).toBe(true);
    expect(await h.status(id)).toBe('pending_approval');

    // The same person again (a double click, or a second try) does not count twice.
    const before = h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, ALICE).length;
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
    expect((await lastEphemeral(ALICE, AUTOMATION_OPS_CHANNEL, before)).text).toMatch(/already answered/);
    expect(await h.status(id)).toBe('pending_approval');

    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: BOB });
    await eventually(async () => ((await h.status(id)) === 'committed' ? true : null), 15_000, 'committed');
    const done = await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Approved') && t.includes(`<@${BOB}> approved`), 'approved card');
    expect(hasButtons(done)).toBe(false);
    expect(blockText(done.blocks)).toContain(`<@${ALICE}> approved`);
    expect(h.executor.calls.filter((c) => c.body.action_id === id)).toHaveLength(1);
    const [approved] = await events(id, 'action.approved');
    expect(approved!.data).toMatchObject({ approvers: [`slack:${ALICE}`, `slack:${BOB}`], quorum: 2 });
    expect((await events(id, 'approval.refused')).map((e) => e.data.reason)).toEqual(['duplicate']);
  });

  it('one deny by an authorised approver ends the request even after an approval', async () => {
    const created = await h.post(actionRequest({ action_class: 'external_automation.job.run' }));
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Approvals: 1 of 2'));
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: DENY_ACTION_ID, user: BOB });
    const modal = await h.slack.waitForView((v) => v.isOpen && v.callback_id === DENY_VIEW_ID && v.user === BOB);
    await h.slack.submitView({ viewId: modal.id, user: BOB, values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: 'Wrong job.' } } });
    await eventually(async () => ((await h.status(id)) === 'denied' ? true : null), 5_000, 'denied');
    const done = await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Denied'));
    expect(blockText(done.blocks)).toContain('Wrong job.');
    expect(hasButtons(done)).toBe(false);
    expect(h.executor.calls.filter((c) => c.body.action_id === id)).toHaveLength(0);
  });
});

describe('approver groups backed by a Slack user group', () => {
  it('members of the user group approve; usergroups.users.list is read and cached briefly', async () => {
    const listCallsBefore = h.slack.callsTo('usergroups.users.list').length;
    const first = await h.post(actionRequest({ action_class: 'external_automation.job.update' }));
    const card = await waitForCard(h, first.body.id, ON_CALL_CHANNEL);
    // Not in the user group: refused, card unchanged.
    await h.slack.clickButton({ channel: ON_CALL_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: MALLORY });
    expect((await lastEphemeral(MALLORY, ON_CALL_CHANNEL)).text).toMatch(/not in the approver group/);
    expect(h.slack.message(ON_CALL_CHANNEL, card.ts)!.history).toHaveLength(1);
    // ALICE approves for automation-ops but is not on call.
    await h.slack.clickButton({ channel: ON_CALL_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
    expect((await lastEphemeral(ALICE, ON_CALL_CHANNEL)).text).toMatch(/not in the approver group/);
    await h.slack.clickButton({ channel: ON_CALL_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: CAROL });
    await eventually(async () => ((await h.status(first.body.id)) === 'committed' ? true : null), 15_000, 'committed');

    const second = await h.post(actionRequest({ action_class: 'external_automation.job.update' }));
    const card2 = await waitForCard(h, second.body.id, ON_CALL_CHANNEL);
    await h.slack.clickButton({ channel: ON_CALL_CHANNEL, ts: card2.ts, actionId: APPROVE_ACTION_ID, user: DAVE });
    await eventually(async () => ((await h.status(second.body.id)) === 'committed' ? true : null), 15_000, 'committed');

    const lists = h.slack.callsTo('usergroups.users.list').slice(listCallsBefore);
    expect(lists.map((c) => c.args.usergroup)).toEqual([ON_CALL_USERGROUP]);
    const [approved] = await events(first.body.id, 'action.approved');
    expect(approved!.data).toMatchObject({ approvers: [`slack:${CAROL}`], group: 'on-call' });
  });
});

describe('bots and agents never approve', () => {
  it('refuses a bot user even when it is listed as a member, and records why', async () => {
    const created = await h.post(actionRequest());
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ROBOT });
    expect((await lastEphemeral(ROBOT)).text).toMatch(/Bots and agents cannot approve/);
    expect(await h.status(id)).toBe('pending_approval');
    expect(await h.db.db.select().from(approvals).where(eq(approvals.actionId, id))).toHaveLength(0);
    const [refused] = await events(id, 'approval.refused');
    expect(refused).toMatchObject({ actor: `slack:${ROBOT}`, data: { reason: 'not-human' } });
    expect(h.slack.callsTo('users.info').some((c) => c.args.user === ROBOT)).toBe(true);
    expect(h.slack.message(AUTOMATION_OPS_CHANNEL, card.ts)!.history).toHaveLength(1);
  });

  it('refuses the requester (on_behalf_of) on Deny too, before the reason form can be used', async () => {
    const created = await h.post(actionRequest({ on_behalf_of: ALICE }));
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    expect(blockText(card.blocks)).toContain('(cannot approve)');
    const before = h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, ALICE).length;
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: DENY_ACTION_ID, user: ALICE });
    expect((await lastEphemeral(ALICE, AUTOMATION_OPS_CHANNEL, before)).text).toMatch(/you cannot approve or deny it/i);
    // The form was opened at once (trigger_id), then replaced by the refusal: nothing to submit.
    const view = await h.slack.waitForView((v) => v.user === ALICE && v.isOpen && blockText(v.view.blocks as unknown[]).includes('cannot approve'));
    expect(view.view.submit ?? null).toBeNull();
    expect(view.callback_id).toBe(NOTICE_VIEW_ID);
    expect(await h.status(id)).toBe('pending_approval');
    const [refused] = await events(id, 'approval.refused');
    expect(refused).toMatchObject({ actor: `slack:${ALICE}`, data: { reason: 'requester', verdict: 'deny' } });
  });
});
