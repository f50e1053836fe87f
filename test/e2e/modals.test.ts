import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { approvals } from '../../src/db/schema';
import { decideApproval } from '../../src/approvals/decide';
import {
  APPROVE_CONFIRM_ACTION_ID,
  CONFIRM_HASH_BLOCK,
  CONFIRM_HASH_INPUT,
  CONFIRM_VIEW_ID,
  DENY_ACTION_ID,
  DENY_REASON_BLOCK,
  DENY_REASON_INPUT,
  DENY_VIEW_ID,
  PAYLOAD_VIEW_ID,
  VIEW_PAYLOAD_ACTION_ID,
} from '../../src/slack/interaction-ids';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, MALLORY, actionRequest, eventually } from '../support/harness';
import { SLACK_TEST_POLICY, blockText, hasButtons, startSlackHarness, waitForCard, waitForCardState, type SlackHarness } from '../support/slack';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness({ policy: SLACK_TEST_POLICY });
});
afterAll(async () => {
  await h?.close();
});

type Section = { type: string; text?: { text: string } };

/** The high-risk story, run over HTTP (this file's harness) and over Socket Mode (its own harness below). */
async function highRiskStory(h: SlackHarness): Promise<void> {
  {
    const created = await h.post(actionRequest({ action_class: 'external_automation.webhook.update', params: { url: 'https://hooks.example/a' } }));
    const id: string = created.body.id;
    const hash: string = created.body.payload_hash;
    const card = await waitForCard(h, id);
    expect(card.blocks![0]).toMatchObject({ type: 'header', text: { text: 'HIGH RISK: external_automation.webhook.update' } });
    expect(blockText(card.blocks)).toContain(hash.slice(0, 16));
    expect(blockText(card.blocks)).toContain(APPROVE_CONFIRM_ACTION_ID);

    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_CONFIRM_ACTION_ID, user: ALICE });
    const modal = await h.slack.waitForView((v) => v.isOpen && v.callback_id === CONFIRM_VIEW_ID && v.user === ALICE);
    // The modal does not give the hash away: the approver has to read it on the card.
    expect(JSON.stringify(modal.view.blocks)).not.toContain(hash.slice(0, 8));
    expect(await h.status(id)).toBe('pending_approval');

    const wrong = hash.startsWith('00000000') ? '11111111' : '00000000';
    const refused = await h.slack.submitView({ viewId: modal.id, user: ALICE, values: { [CONFIRM_HASH_BLOCK]: { [CONFIRM_HASH_INPUT]: wrong } } });
    expect(refused.ok).toBe(true);
    expect(refused.ackError).toBeUndefined();
    expect(JSON.parse(refused.body)).toMatchObject({ response_action: 'errors', errors: { [CONFIRM_HASH_BLOCK]: expect.stringMatching(/payload hash/) } });
    const stillOpen = h.slack.openedViews().find((v) => v.id === modal.id)!;
    expect(stillOpen.isOpen).toBe(true);
    expect(stillOpen.errors).toHaveProperty(CONFIRM_HASH_BLOCK);
    await eventually(async () => ((await h.events(id, 'approval.refused')).length === 1 ? true : null), 5_000, 'refusal recorded');
    expect((await h.events(id, 'approval.refused'))[0]!.data).toMatchObject({ reason: 'hash-not-confirmed' });
    expect(await h.status(id)).toBe('pending_approval');

    const ok = await h.slack.submitView({ viewId: modal.id, user: ALICE, values: { [CONFIRM_HASH_BLOCK]: { [CONFIRM_HASH_INPUT]: hash.slice(0, 8).toUpperCase() } } });
    expect(ok.ok).toBe(true);
    expect(h.slack.openedViews().find((v) => v.id === modal.id)!.isOpen).toBe(false);
    await eventually(async () => ((await h.status(id)) === 'committed' ? true : null), 15_000, 'committed');
    const [recorded] = await h.events(id, 'approval.recorded');
    expect(recorded!.data).toMatchObject({ verdict: 'approve', hash_confirmed: true, payload_hash: hash });
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Approved'));
  }
}

describe('high-risk rules: Approve asks for the payload hash shown on the card', () => {
  it('refuses a wrong hash inline, approves with the right one, and records the confirmation (HTTP)', async () => {
    await highRiskStory(h);
  });

  it('does the same over Socket Mode (the inline errors travel in the ack payload)', async () => {
    const socket = await startSlackHarness({ transport: 'socket', policy: SLACK_TEST_POLICY });
    try {
      await highRiskStory(socket);
    } finally {
      await socket.close();
    }
  }, 30_000);

  it('the core refuses a high-risk approval without the typed hash, whatever the transport sends', async () => {
    const created = await h.post(actionRequest({ action_class: 'external_automation.webhook.update' }));
    const id: string = created.body.id;
    const base = { actionId: id, userId: BOB, verdict: 'approve' as const, shownPayloadHash: created.body.payload_hash };
    const check = async () => 'approver' as const;
    expect(await decideApproval(h.db.db, check, base)).toMatchObject({ kind: 'refused', reason: 'hash-not-confirmed' });
    expect(await decideApproval(h.db.db, check, { ...base, confirmedHashPrefix: created.body.payload_hash.slice(0, 7) })).toMatchObject({ kind: 'refused', reason: 'hash-not-confirmed' });
    expect(await decideApproval(h.db.db, check, { ...base, confirmedHashPrefix: created.body.payload_hash.slice(0, 8) })).toMatchObject({ kind: 'approved' });
  });
});

describe('Deny asks for a reason', () => {
  it('refuses a blank reason inline, then records the reason on the card and in the evidence', async () => {
    const created = await h.post(actionRequest());
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: DENY_ACTION_ID, user: BOB });
    const modal = await h.slack.waitForView((v) => v.isOpen && v.callback_id === DENY_VIEW_ID && v.user === BOB);
    const blank = await h.slack.submitView({ viewId: modal.id, user: BOB, values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: '     ' } } });
    expect(JSON.parse(blank.body)).toMatchObject({ response_action: 'errors' });
    expect(await h.status(id)).toBe('pending_approval');
    await h.slack.submitView({ viewId: modal.id, user: BOB, values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: 'Targets the wrong tenant.' } } });
    await eventually(async () => ((await h.status(id)) === 'denied' ? true : null), 5_000, 'denied');
    const [denied] = await h.events(id, 'action.denied');
    expect(denied).toMatchObject({ actor: `slack:${BOB}`, data: { reason: 'Targets the wrong tenant.' } });
    const done = await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Denied'));
    expect(blockText(done.blocks)).toContain(`<@${BOB}> denied`);
    expect(blockText(done.blocks)).toContain('Targets the wrong tenant.');
    expect((await h.get(`/v1/actions/${id}`)).body.failure).toMatchObject({ why: 'Targets the wrong tenant.' });
  });

  it('someone outside the group gets the form replaced by a refusal, an ephemeral, and an audit record', async () => {
    const created = await h.post(actionRequest());
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: DENY_ACTION_ID, user: MALLORY });
    const eph = await eventually(async () => h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, MALLORY).at(-1), 5_000, 'ephemeral');
    expect(eph.text).toMatch(/not in the approver group/);
    const view = await h.slack.waitForView((v) => v.user === MALLORY && v.isOpen && blockText(v.view.blocks as unknown[]).includes('not in the approver group'));
    expect(view.view.submit ?? null).toBeNull();
    expect((await h.events(id, 'approval.refused'))[0]).toMatchObject({ actor: `slack:${MALLORY}`, data: { reason: 'not-authorized', verdict: 'deny' } });
    expect(h.slack.message(AUTOMATION_OPS_CHANNEL, card.ts)!.history).toHaveLength(1);
    expect(await h.status(id)).toBe('pending_approval');
  });
});

describe('View full payload', () => {
  it('long values are cut on the card and shown whole (redacted) in a modal split across blocks', async () => {
    const long = 'x'.repeat(4000) + 'END-OF-VALUE';
    const secret = 'sk_live_abcdefghijklmnop0123456789';
    const created = await h.post(actionRequest({ params: { name: 'big', script: long, api_token: secret, note: 'a & b < c', target_count: 3 } }));
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    const text = blockText(card.blocks);
    expect(text).toContain('more characters');
    expect(text).not.toContain('END-OF-VALUE');
    expect(text).toContain('[REDACTED]');
    expect(text).not.toContain(secret);
    expect(text).toContain(VIEW_PAYLOAD_ACTION_ID);

    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: VIEW_PAYLOAD_ACTION_ID, user: MALLORY });
    const modal = await h.slack.waitForView((v) => v.isOpen && v.user === MALLORY && v.callback_id === PAYLOAD_VIEW_ID && blockText(v.view.blocks as unknown[]).includes('END-OF-VALUE'));
    const sections = (modal.view.blocks as Section[]).filter((b) => b.type === 'section').map((b) => b.text!.text);
    expect(sections.every((t) => t.length <= 3000)).toBe(true);
    const code = sections.filter((t) => t.startsWith('```')).map((t) => t.slice(3, -3)).join('');
    expect(code).toContain(long);
    expect(code).toContain('a &amp; b &lt; c');
    expect(code).toContain('[REDACTED]');
    expect(JSON.stringify(h.slack.calls)).not.toContain(secret);
    // Looking is not deciding.
    expect(await h.db.db.select().from(approvals).where(eq(approvals.actionId, id))).toHaveLength(0);
    expect(hasButtons(h.slack.message(AUTOMATION_OPS_CHANNEL, card.ts)!)).toBe(true);
  });

  it('a payload too big for one modal is cut at Slack limits and says where the rest is', async () => {
    const params: Record<string, string> = { name: 'huge' };
    for (let i = 0; i < 60; i++) params[`part_${i}`] = `${i}:`.padEnd(3500, 'y');
    const created = await h.post(actionRequest({ params }));
    expect(created.status).toBe(201);
    const card = await waitForCard(h, created.body.id);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: VIEW_PAYLOAD_ACTION_ID, user: ALICE });
    const modal = await h.slack.waitForView((v) => v.isOpen && v.user === ALICE && v.callback_id === PAYLOAD_VIEW_ID && blockText(v.view.blocks as unknown[]).includes('Too long to show'));
    expect((modal.view.blocks as unknown[]).length).toBeLessThanOrEqual(100);
    expect(h.slack.callsTo('views.update').every((c) => c.response.ok === true)).toBe(true);
  });
});
