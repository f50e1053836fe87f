import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { approvals, auditEvents, commitOutbox } from '../../src/db/schema';
import { APPROVE_ACTION_ID } from '../../src/slack/blocks/approval-card';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, actionRequest, eventually } from '../support/harness';
import { startSlackHarness, type SlackHarness } from '../support/slack';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('two approvals clicked at the same time', () => {
  it('release exactly one commit', async () => {
    for (let round = 0; round < 5; round++) {
      const created = await h.post(actionRequest());
      const id: string = created.body.id;
      const card = await h.slack.waitForMessage(AUTOMATION_OPS_CHANNEL, (m) => JSON.stringify(m.blocks ?? []).includes(id), { timeoutMs: 10_000 });
      const clicks = await Promise.all([
        h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE }),
        h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: BOB }),
        h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE }),
      ]);
      expect(clicks.map((c) => c.status)).toEqual([200, 200, 200]);
      await eventually(async () => ((await h.get(`/v1/actions/${id}`)).body.status === 'committed' ? true : null), 15_000, 'committed');
      const calls = h.executor.calls.filter((c) => c.body.action_id === id);
      expect(calls).toHaveLength(1);
      expect(h.executor.effects.get(id)).toBe(1);
      // Exactly one approval counted, one outbox row, one approval event; the others were refused.
      const recorded = await h.db.db.select().from(approvals).where(eq(approvals.actionId, id));
      expect(recorded).toHaveLength(1);
      expect(await h.db.db.select().from(commitOutbox).where(eq(commitOutbox.actionId, id))).toHaveLength(1);
      const events = await h.db.db.select().from(auditEvents).where(eq(auditEvents.actionId, id));
      expect(events.filter((e) => e.type === 'action.approved')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'commit.succeeded')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'approval.refused')).toHaveLength(2);
    }
  });
});
