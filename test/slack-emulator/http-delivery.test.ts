import type { ModalView } from '@slack/types';
import { verifySlackRequest } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SlackEmulator } from '../../src/slack-emulator/index.ts';
import { SIGNING_SECRET, approvalCard, section, startCaptureServer, startEmulator, webClient } from './fixtures.ts';

let emu: SlackEmulator;
const cleanups: (() => Promise<unknown>)[] = [];
beforeEach(async () => {
  emu = await startEmulator({ ackTimeoutMs: 1000 });
  cleanups.push(() => emu.close());
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function capture(reply?: Parameters<typeof startCaptureServer>[0]) {
  const server = await startCaptureServer(reply);
  cleanups.push(server.close);
  emu.setEventsUrl(server.url);
  return server;
}

async function postCard(id = 'act_1'): Promise<string> {
  const res = await webClient(emu).chat.postMessage({ channel: 'C0APPROVALS', text: `Approval ${id}`, blocks: approvalCard(id) });
  return res.ts as string;
}

function verify(req: { headers: Record<string, unknown>; body: string }, nowMilliseconds?: number): void {
  verifySlackRequest({
    signingSecret: SIGNING_SECRET,
    body: req.body,
    headers: {
      'x-slack-signature': String(req.headers['x-slack-signature']),
      'x-slack-request-timestamp': Number(req.headers['x-slack-request-timestamp']),
    },
    ...(nowMilliseconds !== undefined ? { nowMilliseconds } : {}),
  });
}

describe('what the emulator sends in HTTP mode', () => {
  it('a button click is a signed form POST with payload=<block_actions JSON>', async () => {
    const app = await capture();
    const ts = await postCard();
    const result = await emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'approve', user: 'U0ALICE0001' });
    expect(result).toMatchObject({ mode: 'http', status: 200, ok: true });
    expect(result.elapsedMs).toBeGreaterThan(0);

    const req = app.requests[0];
    if (!req) throw new Error('no request');
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(() => verify(req)).not.toThrow(); // Bolt's own verification function accepts it
    const payload = JSON.parse(new URLSearchParams(req.body).get('payload') ?? '{}');
    expect(payload).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0ALICE0001', username: 'alice', name: 'alice', team_id: emu.identity.teamId },
      api_app_id: emu.identity.appId,
      container: { type: 'message', message_ts: ts, channel_id: 'C0APPROVALS', is_ephemeral: false },
      team: { id: emu.identity.teamId, domain: expect.any(String) },
      channel: { id: 'C0APPROVALS', name: 'approvals' },
      message: { ts, text: 'Approval act_1', bot_id: emu.identity.botId },
      state: { values: {} },
      actions: [
        {
          type: 'button',
          action_id: 'approve',
          block_id: 'approval:act_1',
          value: 'act_1',
          style: 'primary',
          text: { type: 'plain_text', text: 'Approve' },
          action_ts: expect.stringMatching(/^\d+\.\d{6}$/),
        },
      ],
    });
    expect(payload.trigger_id).toMatch(/^\d+\.\d+\.[0-9a-f]+$/);
    expect(payload.response_url).toMatch(new RegExp(`^${emu.url}/hooks/actions/`));
    expect(payload.message.blocks).toHaveLength(2);
  });

  it('a slash command is signed form fields, in Slack\'s set', async () => {
    const app = await capture(() => ({ body: '' }));
    const result = await emu.slashCommand({ command: '/countersign', text: 'status act_1', user: 'U0BOB000001', channel: 'approvals' });
    expect(result.ok).toBe(true);
    const req = app.requests[0];
    if (!req) throw new Error('no request');
    expect(() => verify(req)).not.toThrow();
    const fields = Object.fromEntries(new URLSearchParams(req.body));
    expect(Object.keys(fields)).toEqual([
      'token', 'team_id', 'team_domain', 'channel_id', 'channel_name', 'user_id', 'user_name', 'command', 'text',
      'api_app_id', 'is_enterprise_install', 'response_url', 'trigger_id',
    ]);
    expect(fields).toMatchObject({ channel_id: 'C0APPROVALS', channel_name: 'approvals', user_id: 'U0BOB000001', command: '/countersign', text: 'status act_1' });
    expect(fields.response_url).toBe(result.responseUrl);
  });

  it('overrides: a stale timestamp (still correctly signed) and a bad signature', async () => {
    const app = await capture();
    const ts = await postCard();
    const stale = Math.floor(Date.now() / 1000) - 6 * 60;
    await emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'deny', user: 'U0ALICE0001', overrides: { timestamp: stale } });
    await emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'deny', user: 'U0ALICE0001', overrides: { signature: 'v0=deadbeef' } });
    const [staleReq, forgedReq] = app.requests;
    if (!staleReq || !forgedReq) throw new Error('missing requests');
    expect(staleReq.headers['x-slack-request-timestamp']).toBe(String(stale));
    expect(() => verify(staleReq, stale * 1000)).not.toThrow(); // the signature itself is right…
    expect(() => verify(staleReq)).toThrow(/stale/); // …but Bolt rejects the age
    expect(() => verify(forgedReq)).toThrow(/signature mismatch/);
  });

  it('an app that does not answer within the ack timeout is a visible failure', async () => {
    await capture(() => ({ delayMs: 1500 }));
    const ts = await postCard();
    const result = await emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'approve', user: 'U0ALICE0001' });
    expect(result).toMatchObject({ ok: false, status: 0, error: 'ack_timeout' });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(990);
  });

  it('a non-200 answer is a failure with the status', async () => {
    await capture(() => ({ status: 401 }));
    const ts = await postCard();
    expect(await emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'approve', user: 'U0ALICE0001' })).toMatchObject({ ok: false, status: 401, error: 'http_error' });
  });

  it('a click can only press a button that exists', async () => {
    await capture();
    const ts = await postCard();
    await expect(emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'escalate', user: 'U0ALICE0001' })).rejects.toThrow(/no button escalate.*approval:act_1\/approve=act_1/);
    await expect(emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'approve', user: 'U0ALICE0001', value: 'act_9' })).rejects.toThrow(/no button/);
    await expect(emu.clickButton({ channel: 'C0APPROVALS', ts: '1.000001', actionId: 'approve', user: 'U0ALICE0001' })).rejects.toThrow(/no message/);
    await expect(emu.clickButton({ channel: 'C0PRIVATE01', ts, actionId: 'approve', user: 'U0BOB000001' })).rejects.toThrow(/not in/);
    // after the card is updated without buttons, the old button is gone
    await webClient(emu).chat.update({ channel: 'C0APPROVALS', ts, text: 'done', blocks: [section('Approved')] });
    await expect(emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'approve', user: 'U0ALICE0001' })).rejects.toThrow(/no button/);
  });

  it('no eventsUrl and no socket: delivery is a clear error', async () => {
    const ts = await postCard();
    await expect(emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'approve', user: 'U0ALICE0001' })).rejects.toThrow(/nowhere to deliver/);
  });
});

describe('response_url', () => {
  it('replace_original, ephemeral by default, in_channel, at most 5 posts', async () => {
    await capture();
    const ts = await postCard();
    const { responseUrl } = await emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'approve', user: 'U0ALICE0001' });
    if (!responseUrl) throw new Error('no response_url');
    const post = (body: unknown) => fetch(responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

    expect((await post({ replace_original: true, text: 'Approved', blocks: [section('Approved by alice')] })).status).toBe(200);
    expect(emu.message('C0APPROVALS', ts)).toMatchObject({ text: 'Approved', blocks: [{ type: 'section' }] });
    expect(emu.message('C0APPROVALS', ts)?.history.at(-1)?.via).toBe('response_url');
    await post({ text: 'only you see this' });
    expect(emu.ephemerals('C0APPROVALS', 'U0ALICE0001').map((e) => e.text)).toEqual(['only you see this']);
    await post({ response_type: 'in_channel', text: 'everyone sees this' });
    expect(emu.messages('C0APPROVALS').map((m) => m.text)).toContain('everyone sees this');
    expect((await post({ text: 'x', blocks: [section('y'.repeat(3001))] })).status).toBe(400);
    expect((await post({ text: 'fifth' })).status).toBe(200);
    const sixth = await post({ text: 'sixth' });
    expect(sixth.status).toBe(404);
    expect(await sixth.text()).toBe('used_url');
    expect(emu.responseUrlPosts({ url: responseUrl }).map((p) => p.effect)).toEqual(['replaced', 'ephemeral', 'in_channel', 'rejected', 'ephemeral', 'rejected']);
  });

  it('expires after 30 minutes', async () => {
    await capture(() => ({ body: '' }));
    const { responseUrl } = await emu.slashCommand({ command: '/countersign', user: 'U0ALICE0001', channel: 'C0APPROVALS' });
    emu.advanceClock(30 * 60 * 1000 + 1);
    const res = await fetch(responseUrl as string, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"late"}' });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('expired_url');
  });
});

describe('trigger_id', () => {
  const modal: ModalView = { type: 'modal', title: { type: 'plain_text', text: 'Deny' }, blocks: [section('Why?')] };

  it('is valid for 3 seconds and once', async () => {
    await capture(() => ({ body: '' }));
    const client = webClient(emu);
    const first = await emu.slashCommand({ command: '/countersign', user: 'U0ALICE0001', channel: 'C0APPROVALS' });
    expect((await client.views.open({ trigger_id: first.triggerId, view: modal })).view?.id).toMatch(/^V/);
    await expect(client.views.open({ trigger_id: first.triggerId, view: modal })).rejects.toMatchObject({ data: { error: 'exchanged_trigger_id' } });
    const second = await emu.slashCommand({ command: '/countersign', user: 'U0ALICE0001', channel: 'C0APPROVALS' });
    emu.advanceClock(3001);
    await expect(client.views.open({ trigger_id: second.triggerId, view: modal })).rejects.toMatchObject({ data: { error: 'expired_trigger_id' } });
    await expect(client.views.open({ trigger_id: 'garbage', view: modal })).rejects.toMatchObject({ data: { error: 'invalid_trigger_id' } });
  });
});
