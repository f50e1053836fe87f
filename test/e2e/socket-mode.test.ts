import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVE_ACTION_ID } from '../../src/slack/interaction-ids';
import { ALICE, AUTOMATION_OPS_CHANNEL, SIGNING_SECRET, actionRequest, eventually } from '../support/harness';
import { startSlackHarness, waitForCard, type SlackHarness } from '../support/slack';
import { signRequest } from '../../src/slack-emulator';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness({ transport: 'socket' });
});
afterAll(async () => {
  await h?.close();
});

describe('Socket Mode (SLACK_APP_TOKEN)', () => {
  it('connects with the app token through apps.connections.open on the configured Slack API URL', () => {
    const opens = h.slack.callsTo('apps.connections.open');
    expect(opens.length).toBeGreaterThanOrEqual(1);
    expect(opens[0]!.tokenKind).toBe('app');
    expect(h.slack.socketConnections).toBe(1);
  });

  it('serves /v1 but no /slack/events: interactions only arrive over the socket', async () => {
    expect((await h.get('/v1/actions/act_missing')).status).toBe(404);
    const body = `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions' }))}`;
    const ts = Math.floor(Date.now() / 1000);
    const res = await fetch(`${h.app.url}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signRequest(SIGNING_SECRET, ts, body) },
      body,
    });
    expect(res.status).toBe(404);
  });

  it('reconnects after Slack asks it to, and keeps taking approvals', async () => {
    const opensBefore = h.slack.callsTo('apps.connections.open').length;
    h.slack.disconnectSocket({ reason: 'refresh_requested', closeAfterMs: 200 });
    await h.slack.waitFor(() => h.slack.callsTo('apps.connections.open').length > opensBefore && h.slack.socketConnections === 1, {
      timeoutMs: 15_000,
      description: 'a new socket',
    });
    const created = await h.post(actionRequest());
    const card = await waitForCard(h, created.body.id);
    const click = await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
    expect(click).toMatchObject({ mode: 'socket', ok: true });
    expect(click.envelopeId).toBeTruthy();
    await eventually(async () => ((await h.get(`/v1/actions/${created.body.id}`)).body.status === 'committed' ? true : null), 15_000, 'committed');
  }, 30_000);
});

describe('Socket Mode while Slack is unreachable at boot', () => {
  it('boots (the API answers) and connects once apps.connections.open works again', async () => {
    const booted = await startSlackHarness({
      transport: 'socket',
      // Six 500s: more than the Web API client's own retries (3) for one start, so start() fails and is tried again.
      beforeStart: (slack) => slack.failNext('apps.connections.open', { status: 500, times: 6 }),
    });
    try {
      expect(booted.slack.callsTo('apps.connections.open').filter((c) => c.status === 500)).toHaveLength(6);
      expect(booted.slack.socketConnections).toBe(1);
      const created = await booted.post(actionRequest());
      expect(created.status).toBe(201);
      const card = await waitForCard(booted, created.body.id);
      expect((await booted.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE })).mode).toBe('socket');
    } finally {
      await booted.close();
    }
  }, 30_000);
});
