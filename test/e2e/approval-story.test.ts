import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { auditEvents } from '../../src/db/schema';
import { APPROVE_ACTION_ID, DENY_ACTION_ID, EDIT_ACTION_ID } from '../../src/slack/blocks/approval-card';
import { DENY_REASON_BLOCK, DENY_REASON_INPUT, DENY_VIEW_ID } from '../../src/slack/interaction-ids';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, MALLORY, actionRequest, eventually } from '../support/harness';
import { TRANSPORTS, blockText, startSlackHarness, type SlackHarness } from '../support/slack';

describe.each(TRANSPORTS)('the whole story over %s: intake → policy → Slack approval → BullMQ commit → executor', (transport) => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness({ transport });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('escalates, posts a card, takes an approval, commits once, and records every step', async () => {
    const request = actionRequest({ params: { name: 'nightly-sync', schedule: '0 3 * * *', targets: ['a', 'b', 'c'], target_count: 3 } });
    const created = await h.post(request);
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      status: 'pending_approval',
      decision: { decision: 'escalate', rule_id: 'escalate-automation-state-change' },
    });
    expect(created.body.decision.reasoning).toMatch(/automation-ops approval/);
    expect(created.body.decision.policy_version).toBeTruthy();
    const id: string = created.body.id;
    const hash: string = created.body.payload_hash;

    // The card, in the automation-ops channel.
    const card = await h.slack.waitForMessage(AUTOMATION_OPS_CHANNEL, (m) => blockText(m.blocks ?? []).includes(id), { timeoutMs: 10_000 });
    const text = blockText(card.blocks!);
    expect(card.blocks![0]).toMatchObject({ type: 'header', text: { text: 'Approval needed: external_automation.workflow.create' } });
    for (const expected of ['deploy-bot', 'platform', 'Create the nightly sync workflow', 'nightly-sync', 'escalate-automation-state-change', '3 targets', hash.slice(0, 12)]) {
      expect(text).toContain(expected);
    }
    expect(text).toContain('External automation state changes require automation-ops approval');
    const buttons = (card.blocks!.find((b) => b.type === 'actions') as { elements: { action_id: string }[] }).elements.map((e) => e.action_id);
    expect(buttons).toEqual([APPROVE_ACTION_ID, DENY_ACTION_ID, EDIT_ACTION_ID]);
    expect(card.text).toContain('external_automation.workflow.create');

    // Alice approves.
    const click = await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
    expect(click).toMatchObject({ ok: true, status: 200, mode: transport });

    // Committed, with the executor called exactly once with the right hash and signature.
    const done = await eventually(async () => {
      const r = await h.get(`/v1/actions/${id}`);
      return r.body.status === 'committed' ? r.body : null;
    }, 15_000, 'committed');
    expect(done.result).toMatchObject({ ok: true });
    expect(h.executor.calls).toHaveLength(1);
    const call = h.executor.calls[0]!;
    expect(call.signatureValid).toBe(true);
    expect(call.headers['idempotency-key']).toBe(id);
    expect(call.body).toMatchObject({ action_id: id, action_class: 'external_automation.workflow.create', payload_hash: hash, idempotency_key: id, params: request.params as object });

    // The card was updated in place: who approved, no buttons left; the thread has the result.
    const updated = await eventually(async () => {
      const m = h.slack.message(AUTOMATION_OPS_CHANNEL, card.ts);
      return m && blockText(m.blocks ?? []).includes('Approved') ? m : null;
    }, 10_000, 'card updated');
    expect(updated.blocks!.some((b) => b.type === 'actions')).toBe(false);
    expect(blockText(updated.blocks!)).toContain(`<@${ALICE}> approved`);
    const thread = await eventually(async () => {
      const t = h.slack.thread(AUTOMATION_OPS_CHANNEL, card.ts).filter((m) => m.ts !== card.ts);
      return t.length ? t : null;
    }, 10_000, 'thread reply');
    expect(blockText(thread[0]!.blocks ?? [])).toContain('Committed');

    // Every step is evidence with the same correlation id.
    const events = await h.db.db.select().from(auditEvents).where(eq(auditEvents.actionId, id)).orderBy(auditEvents.seq);
    // The relay commits `queued` and its evidence before the job exists, so the order is fixed.
    expect(events.map((e) => e.type)).toEqual([
      'action.requested',
      'policy.decided',
      'approval.card_posted',
      'approval.recorded',
      'action.approved',
      'commit.queued',
      'commit.started',
      'commit.succeeded',
    ]);
    expect(new Set(events.map((e) => e.correlationId))).toEqual(new Set([request.correlation_id]));
    const approved = events.find((e) => e.type === 'action.approved')!;
    expect(approved.actor).toBe(`slack:${ALICE}`);
    expect(approved.data).toMatchObject({ approvers: [`slack:${ALICE}`], payload_hash: hash });
  });

  it('refuses a click from outside the approver group with an ephemeral message and changes nothing', async () => {
    const created = await h.post(actionRequest());
    const id: string = created.body.id;
    const card = await h.slack.waitForMessage(AUTOMATION_OPS_CHANNEL, (m) => blockText(m.blocks ?? []).includes(id), { timeoutMs: 10_000 });
    const click = await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: MALLORY });
    expect(click.status).toBe(200);
    const eph = await eventually(async () => h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, MALLORY).at(-1), 5_000, 'ephemeral');
    expect(eph.text).toMatch(/not in the approver group/);
    expect((await h.get(`/v1/actions/${id}`)).body.status).toBe('pending_approval');
    expect(h.slack.message(AUTOMATION_OPS_CHANNEL, card.ts)!.history).toHaveLength(1);
    const refused = await h.db.db.select().from(auditEvents).where(eq(auditEvents.actionId, id));
    expect(refused.find((e) => e.type === 'approval.refused')).toMatchObject({ actor: `slack:${MALLORY}`, data: { reason: 'not-authorized' } });
  });

  it('never lets the human an agent acts for approve their own request', async () => {
    const created = await h.post(actionRequest({ on_behalf_of: BOB }));
    const id: string = created.body.id;
    const card = await h.slack.waitForMessage(AUTOMATION_OPS_CHANNEL, (m) => blockText(m.blocks ?? []).includes(id), { timeoutMs: 10_000 });
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: BOB });
    const eph = await eventually(async () => h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, BOB).at(-1), 5_000, 'ephemeral');
    expect(eph.text).toMatch(/you cannot approve or deny it/i);
    expect((await h.get(`/v1/actions/${id}`)).body.status).toBe('pending_approval');
  });

  it('a deny by an approver ends the request; nothing reaches the executor', async () => {
    const before = h.executor.calls.length;
    const created = await h.post(actionRequest());
    const id: string = created.body.id;
    const card = await h.slack.waitForMessage(AUTOMATION_OPS_CHANNEL, (m) => blockText(m.blocks ?? []).includes(id), { timeoutMs: 10_000 });
    // Deny asks for the reason in a modal; nothing is recorded until it is submitted.
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: DENY_ACTION_ID, user: BOB });
    const modal = await h.slack.waitForView((v) => v.isOpen && v.callback_id === DENY_VIEW_ID && v.user === BOB);
    expect((await h.get(`/v1/actions/${id}`)).body.status).toBe('pending_approval');
    const submitted = await h.slack.submitView({ viewId: modal.id, user: BOB, values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: 'Not during the freeze.' } } });
    expect(submitted.ok).toBe(true);
    await eventually(async () => ((await h.get(`/v1/actions/${id}`)).body.status === 'denied' ? true : null), 5_000, 'denied');
    const updated = await eventually(async () => {
      const m = h.slack.message(AUTOMATION_OPS_CHANNEL, card.ts);
      return m && blockText(m.blocks ?? []).includes('Denied') ? m : null;
    }, 5_000, 'card shows denied');
    expect(updated.blocks!.some((b) => b.type === 'actions')).toBe(false);
    expect(blockText(updated.blocks!)).toContain(`<@${BOB}> denied`);
    expect(blockText(updated.blocks!)).toContain('Not during the freeze.');
    // The updated card has no buttons left to press.
    await expect(h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE })).rejects.toThrow();
    expect((await h.get(`/v1/actions/${id}`)).body.status).toBe('denied');
    expect(h.executor.calls.length).toBe(before);
  });
});
