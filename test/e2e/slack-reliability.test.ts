import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { approvals, auditEvents } from '../../src/db/schema';
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from '../../src/slack/blocks/approval-card';
import { DENY_VIEW_ID } from '../../src/slack/interaction-ids';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, MALLORY, actionRequest, eventually } from '../support/harness';
import { SLACK_TEST_POLICY, TRANSPORTS, blockText, startSlackHarness, waitForCard, waitForCardState, type SlackHarness } from '../support/slack';

/** Holds `SELECT … FOR UPDATE` on the action's row in another transaction until released: a slow database. */
async function holdRowLock(h: SlackHarness, actionId: string) {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  const tx = h.db.sql.begin(async (sql) => {
    await sql`select id from actions where id = ${actionId} for update`;
    locked();
    await released;
  });
  await isLocked;
  return {
    async release() {
      release();
      await tx;
    },
  };
}

describe.each(TRANSPORTS)('acknowledged within 3 seconds whatever the database does (%s)', (transport) => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness({ transport, policy: SLACK_TEST_POLICY });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('acks an Approve and opens the Deny form while the action row is locked; the decision lands after', async () => {
    const created = await h.post(actionRequest({ action_class: 'external_automation.job.run' }));
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    const lock = await holdRowLock(h, id);
    try {
      // The emulator gives up after Slack's 3 s: `ok` means the ack came back in time.
      const approve = await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
      expect(approve).toMatchObject({ ok: true, mode: transport });
      expect(approve.error).toBeUndefined();
      const deny = await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: DENY_ACTION_ID, user: BOB });
      expect(deny.ok).toBe(true);
      // The modal opened with the click's trigger_id although the row is still locked.
      const modal = await h.slack.waitForView((v) => v.isOpen && v.callback_id === DENY_VIEW_ID && v.user === BOB);
      expect(modal).toBeTruthy();
      expect(await h.db.db.select().from(approvals).where(eq(approvals.actionId, id))).toHaveLength(0);
    } finally {
      await lock.release();
    }
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Approvals: 1 of 2'), 'approval recorded after the lock');
    expect(await h.status(id)).toBe('pending_approval');
    expect(h.slack.deliveries.filter((d) => d.payload.type === 'block_actions').every((d) => d.ok)).toBe(true);
  });
});

describe('Slack errors: 429s wait for Retry-After, 5xx back off, a card that cannot be posted is retried', () => {
  let h: SlackHarness;
  beforeAll(async () => {
    h = await startSlackHarness({ policy: SLACK_TEST_POLICY });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('retries a rate-limited chat.postMessage after Retry-After', async () => {
    h.slack.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const created = await h.post(actionRequest());
    const card = await waitForCard(h, created.body.id);
    const posts = h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === AUTOMATION_OPS_CHANNEL);
    const limited = posts.findIndex((c) => c.status === 429);
    expect(limited).toBeGreaterThanOrEqual(0);
    expect(posts[limited]!.headers['retry-after']).toBe('1');
    // The retry came after the pause Slack asked for.
    expect(posts[limited + 1]!.at - posts[limited]!.at).toBeGreaterThanOrEqual(900);
    expect(card.ts).toBeTruthy();
  });

  it('retries 5xx on chat.update and on the ephemeral refusal', async () => {
    const created = await h.post(actionRequest());
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    h.slack.failNext('chat.postEphemeral', { status: 503 });
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: MALLORY });
    const eph = await eventually(async () => h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, MALLORY).at(-1), 10_000, 'ephemeral after a 503');
    expect(eph.text).toMatch(/not in the approver group/);
    expect(h.slack.callsTo('chat.postEphemeral').some((c) => c.status === 503)).toBe(true);

    h.slack.failNext('chat.update', { status: 500, times: 2 });
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
    await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Approved'), 'card updated after 5xx');
    expect(h.slack.callsTo('chat.update').filter((c) => c.status === 500)).toHaveLength(2);
  });

  it('a card Slack keeps refusing is retried in the background; the action stays pending, visible, never approved', async () => {
    h.slack.failNext('chat.postMessage', { error: 'internal_error', times: 3 });
    const created = await h.post(actionRequest());
    const id: string = created.body.id;
    expect(created.body.status).toBe('pending_approval');
    await h.slack.waitFor(() => h.slack.callsTo('chat.postMessage').filter((c) => c.response.error === 'internal_error').length >= 2 || undefined, {
      timeoutMs: 10_000,
      description: 'two failed posts',
    });
    // Meanwhile: pending and visible through the API; nothing recorded, nothing released.
    const meanwhile = await h.get(`/v1/actions/${id}`);
    expect(meanwhile.status).toBe(200);
    expect(meanwhile.body.status).toBe('pending_approval');
    expect(await h.db.db.select().from(approvals).where(eq(approvals.actionId, id))).toHaveLength(0);

    const card = await h.slack.waitForMessage(AUTOMATION_OPS_CHANNEL, (m) => blockText(m.blocks).includes(id), { timeoutMs: 20_000 });
    expect(card.ts).toBeTruthy();
    expect(await h.status(id)).toBe('pending_approval');
    const posted = await eventually(
      async () => {
        const rows = await h.db.db.select().from(auditEvents).where(and(eq(auditEvents.actionId, id), eq(auditEvents.type, 'approval.card_posted')));
        return rows.length ? rows : null;
      },
      5_000,
      'card_posted',
    );
    expect(posted).toHaveLength(1);
    expect(h.slack.messages(AUTOMATION_OPS_CHANNEL).filter((m) => blockText(m.blocks).includes(id))).toHaveLength(1);
    expect(h.executor.calls.filter((c) => c.body.action_id === id)).toHaveLength(0);
  }, 40_000);
});
