import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, approvals } from '../../src/db/schema';
import { APPROVE_ACTION_ID } from '../../src/slack/blocks/approval-card';
import { isFreshSlackTimestamp } from '../../src/slack/request-timestamp';
import { ALICE, AUTOMATION_OPS_CHANNEL, actionRequest } from '../support/harness';
import { startSlackHarness, type SlackHarness } from '../support/slack';

let h: SlackHarness;
let cardTs: string;
let actionId: string;
beforeAll(async () => {
  h = await startSlackHarness();
  const created = await h.post(actionRequest());
  actionId = created.body.id;
  const card = await h.slack.waitForMessage(AUTOMATION_OPS_CHANNEL, (m) => JSON.stringify(m.blocks ?? []).includes(actionId), { timeoutMs: 10_000 });
  cardTs = card.ts;
});
afterAll(async () => {
  await h?.close();
});

async function nothingRecorded() {
  expect(await h.db.db.select().from(approvals)).toHaveLength(0);
  const types = (await h.db.db.select().from(auditEvents)).map((e) => e.type);
  expect(types.filter((t) => t.startsWith('approval.') && t !== 'approval.card_posted')).toEqual([]);
  expect((await h.get(`/v1/actions/${actionId}`)).body.status).toBe('pending_approval');
}

describe('Slack request verification', () => {
  it('rejects a bad signature with 401 and records nothing', async () => {
    const res = await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: cardTs, actionId: APPROVE_ACTION_ID, user: ALICE, overrides: { signature: 'v0=' + '0'.repeat(64) } });
    expect(res.status).toBe(401);
    await nothingRecorded();
  });

  it('rejects a timestamp older than 5 minutes with 401 and records nothing', async () => {
    const res = await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: cardTs, actionId: APPROVE_ACTION_ID, user: ALICE, overrides: { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 } });
    expect(res.status).toBe(401);
    await nothingRecorded();
  });

  it('rejects a correctly signed timestamp from the future (10 minutes, 10 years) with 401 and records nothing', async () => {
    for (const ahead of [10 * 60, 10 * 365 * 86_400]) {
      const res = await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: cardTs, actionId: APPROVE_ACTION_ID, user: ALICE, overrides: { timestamp: Math.floor(Date.now() / 1000) + ahead } });
      expect(res.status).toBe(401);
    }
    await nothingRecorded();
  });

  it('the window is five minutes either way, inclusive', () => {
    const now = 1_800_000_000_000;
    expect(isFreshSlackTimestamp(String(now / 1000 + 300), now)).toBe(true);
    expect(isFreshSlackTimestamp(String(now / 1000 - 300), now)).toBe(true);
    expect(isFreshSlackTimestamp(String(now / 1000 + 301), now)).toBe(false);
    expect(isFreshSlackTimestamp(String(now / 1000 - 301), now)).toBe(false);
    for (const bad of [undefined, '', 'abc', '1.5', '-1', '1e9']) expect(isFreshSlackTimestamp(bad, now)).toBe(false);
  });

  it('accepts the same click correctly signed', async () => {
    const res = await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: cardTs, actionId: APPROVE_ACTION_ID, user: ALICE });
    expect(res.status).toBe(200);
  });
});
