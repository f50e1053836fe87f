import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { approvals, auditEvents } from '../../src/db/schema';
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from '../../src/slack/blocks/approval-card';
import { NOTICE_VIEW_ID } from '../../src/slack/interaction-ids';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, actionRequest, eventually } from '../support/harness';
import { SLACK_TEST_POLICY, TRANSPORTS, blockText, hasButtons, startSlackHarness, waitForCard, waitForCardState, type SlackHarness } from '../support/slack';

/**
 * Replayed or duplicated interactions change nothing and say why: Slack's retries (X-Slack-Retry-Num),
 * double clicks, and clicks on an old rendering of a card after the decision.
 */
describe.each(TRANSPORTS)('replays and duplicates over %s', (transport) => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness({ transport, policy: SLACK_TEST_POLICY });
  });
  afterAll(async () => {
    await h?.close();
  });

  const nextEphemeral = async (user: string, after: number) =>
    eventually(async () => h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, user)[after], 5_000, `ephemeral #${after + 1} for ${user}`);
  const refusals = async (id: string) =>
    (await h.db.db.select().from(auditEvents).where(and(eq(auditEvents.actionId, id), eq(auditEvents.type, 'approval.refused')))).map((e) => e.data.reason);

  async function settledVersions(ts: string): Promise<number> {
    let last = -1;
    for (;;) {
      const now = h.slack.message(AUTOMATION_OPS_CHANNEL, ts)!.history.length;
      if (now === last) return now;
      last = now;
      await new Promise((r) => setTimeout(r, 750));
    }
  }

  it('a click on the card as it looked before the decision changes nothing and says who decided', async () => {
    const created = await h.post(actionRequest());
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
    const decided = await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Approved'), 'card updated');
    expect(hasButtons(decided)).toBe(false);
    await eventually(async () => ((await h.status(id)) === 'committed' ? true : null), 15_000, 'committed');
    // The card's own updates after the commit (the card worker) land asynchronously: count its versions once
    // they have settled, so only the stale clicks below could add one.
    const versions = await settledVersions(card.ts);

    // BOB's client still shows version 0, with its buttons.
    const seen = h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, BOB).length;
    const click = await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, version: 0, actionId: APPROVE_ACTION_ID, user: BOB });
    expect(click.ok).toBe(true);
    expect((click.payload.message as { blocks: unknown[] }).blocks.some((b) => (b as { type: string }).type === 'actions')).toBe(true);
    const told = await nextEphemeral(BOB, seen);
    expect(told.text).toMatch(/Nothing changed: this request is already committed/);
    expect(told.text).toContain(`<@${ALICE}> approved`);

    // Deny on the old card: the form opens (it must, within 3 s of the click) and is replaced by the reason it cannot be used.
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, version: 0, actionId: DENY_ACTION_ID, user: BOB });
    expect((await nextEphemeral(BOB, seen + 1)).text).toMatch(/already committed/);
    const notice = await h.slack.waitForView((v) => v.user === BOB && v.isOpen && v.callback_id === NOTICE_VIEW_ID);
    expect(blockText(notice.view.blocks as unknown[])).toContain('already committed');

    expect(await h.status(id)).toBe('committed');
    expect(h.executor.calls.filter((c) => c.body.action_id === id)).toHaveLength(1);
    expect(await h.db.db.select().from(approvals).where(eq(approvals.actionId, id))).toHaveLength(1);
    expect(await refusals(id)).toEqual(['not-pending', 'not-pending']);
    // The stale clicks did not touch the card.
    expect(h.slack.message(AUTOMATION_OPS_CHANNEL, card.ts)!.history).toHaveLength(versions);
  });

  it('a double click counts once and the second click is told so', async () => {
    const created = await h.post(actionRequest({ action_class: 'external_automation.job.run' }));
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    const seen = h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, ALICE).length;
    const clicks = await Promise.all([
      h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE }),
      h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE }),
    ]);
    expect(clicks.every((c) => c.ok)).toBe(true);
    expect((await nextEphemeral(ALICE, seen)).text).toMatch(/already answered/);
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Approvals: 1 of 2'));
    expect(await h.db.db.select().from(approvals).where(eq(approvals.actionId, id))).toHaveLength(1);
    expect(await refusals(id)).toEqual(['duplicate']);
    expect(await h.status(id)).toBe('pending_approval');
  });
});

describe('Slack retries over HTTP', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness({ policy: SLACK_TEST_POLICY });
  });
  afterAll(async () => {
    await h?.close();
  });
  const nextEphemeral = async (user: string, after: number) =>
    eventually(async () => h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, user)[after], 5_000, `ephemeral #${after + 1} for ${user}`);
  const refusals = async (id: string) =>
    (await h.db.db.select().from(auditEvents).where(and(eq(auditEvents.actionId, id), eq(auditEvents.type, 'approval.refused')))).map((e) => e.data.reason);

  it("Slack's retry of a delivered click (X-Slack-Retry-Num) changes nothing", async () => {
    const created = await h.post(actionRequest({ action_class: 'external_automation.job.run' }));
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: BOB });
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Approvals: 1 of 2'));
    const seen = h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, BOB).length;
    const retry = await h.slack.clickButton({
      channel: AUTOMATION_OPS_CHANNEL,
      ts: card.ts,
      actionId: APPROVE_ACTION_ID,
      user: BOB,
      overrides: { headers: { 'X-Slack-Retry-Num': '1', 'X-Slack-Retry-Reason': 'http_timeout' } },
    });
    expect(retry.status).toBe(200);
    expect((await nextEphemeral(BOB, seen)).text).toMatch(/already answered/);
    expect(await h.db.db.select().from(approvals).where(eq(approvals.actionId, id))).toHaveLength(1);
    expect(await h.status(id)).toBe('pending_approval');
    expect(await refusals(id)).toEqual(['duplicate']);
  });
});
