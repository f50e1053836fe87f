import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { actions, agents, auditEvents } from '../../src/db/schema';
import { ADMIN_REFUSAL } from '../../src/slack/listeners/commands/countersign';
import { ALICE, AUTOMATION_OPS_CHANNEL, MALLORY, actionRequest } from '../support/harness';
import { blockText, hasButtons, slackTestConfig, startSlackHarness, waitForCard, waitForCardState, type SlackHarness } from '../support/slack';

let h: SlackHarness;

beforeAll(async () => {
  // Alice is an approver and in the admins group; Mallory is neither.
  h = await startSlackHarness({ configFor: (url) => ({ ...slackTestConfig(url), admins: { members: [ALICE] } }) });
});
afterAll(async () => h?.close());

async function command(user: string, text: string): Promise<string> {
  const before = h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, user).length;
  const delivery = await h.slack.slashCommand({ command: '/countersign', text, user, channel: AUTOMATION_OPS_CHANNEL });
  expect(delivery.ok).toBe(true); // acknowledged within Slack's 3 seconds
  const reply = await h.slack.waitFor(() => h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, user)[before], { timeoutMs: 10_000, description: `/countersign ${text} reply` });
  return reply.text ?? '';
}

describe('kill switch drill through Slack (emulator)', () => {
  it('refuses /countersign kill from a non-admin; an admin kills, the pending card turns to Cancelled, the token is refused', async () => {
    const pending = await h.post(actionRequest());
    expect(pending.body.status).toBe('pending_approval');
    const card = await waitForCard(h, pending.body.id);
    expect(hasButtons(card)).toBe(true);

    expect(await command(MALLORY, 'kill deploy-bot')).toBe(ADMIN_REFUSAL);
    const [stillActive] = await h.db.db.select().from(agents).where(eq(agents.id, h.agentId));
    expect(stillActive!.status).toBe('active');

    const before = Date.now();
    const reply = await command(ALICE, 'kill deploy-bot');
    expect(reply).toMatch(/deploy-bot\* is suspended and 1 token\(s\) revoked; 1 action\(s\) cancelled/);

    const updated = await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (text, m) => text.includes('Cancelled') && !hasButtons(m), 'the card to say Cancelled');
    expect(blockText(updated.blocks)).toContain(pending.body.id);
    const [row] = await h.db.db.select().from(actions).where(eq(actions.id, pending.body.id));
    expect(row!.status).toBe('cancelled');
    expect((await h.post(actionRequest())).status).toBe(401);

    const [killed] = await h.db.db.select().from(auditEvents).where(and(eq(auditEvents.agentId, h.agentId), eq(auditEvents.type, 'agent.killed')));
    expect(killed!.actor).toBe(`slack:${ALICE}`);
    expect(killed!.createdAt.getTime()).toBeGreaterThanOrEqual(before - 5);
    const [refused] = await h.db.db.select().from(auditEvents).where(eq(auditEvents.type, 'admin.access_refused'));
    expect(refused!.actor).toBe(`slack:${MALLORY}`);

    expect(await command(ALICE, 'resume deploy-bot')).toMatch(/active again/);
    expect(await command(ALICE, 'launch')).toMatch(/^Usage/);
  });
});
