import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { actions, auditEvents } from '../../src/db/schema';
import { escalateDueApprovals } from '../../src/approvals/escalate';
import { APPROVE_ACTION_ID } from '../../src/slack/blocks/approval-card';
import { ALICE, AUTOMATION_OPS_CHANNEL, actionRequest, eventually } from '../support/harness';
import {
  CAROL,
  ON_CALL_CHANNEL,
  SLACK_TEST_POLICY,
  blockText,
  hasButtons,
  startSlackHarness,
  waitForCard,
  waitForCardState,
  type SlackHarness,
} from '../support/slack';

// The policy's short timeouts: integration.sync escalates to on-call after 1 s (times out at 8 s);
// workflow.run escalates after 1 s and times out at 3 s; api.write times out at 2 s with no escalation.
let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness({ policy: SLACK_TEST_POLICY });
});
afterAll(async () => {
  await h?.close();
});


describe('escalate_to: re-posted to the escalation group once, after after_seconds', () => {
  it('posts the card to on-call, lets on-call approve, and updates both cards', async () => {
    const created = await h.post(actionRequest({ action_class: 'external_automation.integration.sync' }));
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    expect(blockText(card.blocks)).not.toContain('escalated to');
    // CAROL is on call, not in automation-ops: before the escalation she may not decide.
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: CAROL });
    const refused = await eventually(async () => (await h.events(id, 'approval.refused'))[0], 5_000, 'refusal');
    expect(refused.data).toMatchObject({ reason: 'not-authorized' });

    const copy = await waitForCard(h, id, ON_CALL_CHANNEL);
    expect(blockText(copy.blocks)).toContain('Escalated from *automation-ops*');
    expect(hasButtons(copy)).toBe(true);
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('escalated to on-call'), 'original card shows the escalation');
    const row = await eventually(async () => {
      const [r] = await h.db.db.select().from(actions).where(eq(actions.id, id));
      return r?.escalationSlackTs ? r : null;
    }, 5_000, 'escalation card recorded');
    expect(row.escalatedAt).toBeInstanceOf(Date);
    expect(row.escalationSlackChannel).toBe(ON_CALL_CHANNEL);
    expect(row.escalationSlackTs).toBe(copy.ts);

    // Ticks keep running; the escalation stays single.
    await new Promise((r) => setTimeout(r, 800));
    expect(await h.events(id, 'approval.escalated')).toHaveLength(1);
    expect(h.slack.messages(ON_CALL_CHANNEL).filter((m) => blockText(m.blocks).includes(id))).toHaveLength(1);
    expect(await escalateDueApprovals(h.db.db)).toEqual([]);

    await h.slack.clickButton({ channel: ON_CALL_CHANNEL, ts: copy.ts, actionId: APPROVE_ACTION_ID, user: CAROL });
    await eventually(async () => ((await h.status(id)) === 'committed' ? true : null), 15_000, 'committed');
    const [doneCopy, doneCard] = await Promise.all([
      waitForCardState(h, ON_CALL_CHANNEL, copy.ts, (t) => t.includes('Approved')),
      waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Approved')),
    ]);
    expect(hasButtons(doneCopy) || hasButtons(doneCard)).toBe(false);
    expect(blockText(doneCard.blocks)).toContain(`<@${CAROL}> approved`);
    const [escalated] = await h.events(id, 'approval.escalated');
    expect(escalated).toMatchObject({ actor: 'system', data: { from: 'automation-ops', to: 'on-call', after_seconds: 1 } });
    const posted = await h.events(id, 'approval.card_posted');
    expect(posted.map((e) => e.data.group)).toEqual(['automation-ops', 'on-call']);
  });

  it('an escalated request nobody answers expires: both cards say so, nothing is released', async () => {
    const created = await h.post(actionRequest({ action_class: 'external_automation.workflow.run' }));
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    const copy = await waitForCard(h, id, ON_CALL_CHANNEL);
    await eventually(async () => ((await h.status(id)) === 'expired' ? true : null), 10_000, 'expired');
    const [doneCard, doneCopy] = await Promise.all([
      waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Expired')),
      waitForCardState(h, ON_CALL_CHANNEL, copy.ts, (t) => t.includes('Expired')),
    ]);
    expect(hasButtons(doneCard)).toBe(false);
    expect(hasButtons(doneCopy)).toBe(false);
    const types = (await h.db.db.select().from(auditEvents).where(eq(auditEvents.actionId, id)).orderBy(auditEvents.seq)).map((e) => e.type);
    expect(types.indexOf('approval.escalated')).toBeLessThan(types.indexOf('action.expired'));
    expect(h.executor.calls.filter((c) => c.body.action_id === id)).toHaveLength(0);

    // A click on the card as it was shown before it expired changes nothing and says so.
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, version: 0, actionId: APPROVE_ACTION_ID, user: ALICE });
    const eph = await eventually(async () => h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, ALICE).at(-1), 5_000, 'ephemeral');
    expect(eph.text).toMatch(/already expired/);
    expect(await h.status(id)).toBe('expired');
  });
});

describe('timeout without escalation', () => {
  it('expires after the policy timeout and updates the card; no escalation card', async () => {
    const created = await h.post(actionRequest({ action_class: 'external_automation.api.write' }));
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    await eventually(async () => ((await h.status(id)) === 'expired' ? true : null), 10_000, 'expired');
    const done = await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Expired'));
    expect(hasButtons(done)).toBe(false);
    expect(blockText(done.blocks)).toContain('Timed out');
    expect(await h.events(id, 'approval.escalated')).toHaveLength(0);
    expect(h.slack.messages(ON_CALL_CHANNEL).filter((m) => blockText(m.blocks).includes(id))).toHaveLength(0);
    expect((await h.get(`/v1/actions/${id}`)).body.failure).toMatchObject({ reason: expect.stringMatching(/timeout/) });
  });
});
