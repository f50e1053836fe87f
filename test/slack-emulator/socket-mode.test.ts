import { App, type BlockAction, type ButtonAction } from '@slack/bolt';
import { SocketModeClient } from '@slack/socket-mode';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { SlackEmulator } from '../../src/slack-emulator/index.ts';
import { APP_TOKEN, BOT_TOKEN, approvalCard, section, silentLogger, startEmulator, webClient } from './fixtures.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function emulator(ackTimeoutMs = 1000): Promise<SlackEmulator> {
  const emu = await startEmulator({ ackTimeoutMs });
  cleanups.push(() => emu.close());
  return emu;
}

/** The real @slack/socket-mode client, reconnecting fast so tests stay quick. */
async function connect(emu: SlackEmulator, setup: (client: SocketModeClient) => void = () => {}): Promise<SocketModeClient> {
  const client = new SocketModeClient({
    appToken: APP_TOKEN,
    logger: silentLogger,
    clientPingTimeout: 300,
    clientOptions: { slackApiUrl: emu.apiUrl, retryConfig: { retries: 0 } },
  });
  setup(client);
  cleanups.push(() => client.disconnect());
  await client.start();
  return client;
}

async function postCard(emu: SlackEmulator): Promise<string> {
  return (await webClient(emu).chat.postMessage({ channel: 'C0APPROVALS', text: 'Approve?', blocks: approvalCard('act_1') })).ts as string;
}

type SlackEvent = { type: string; envelope_id: string; body: Record<string, unknown>; retry_num: number; retry_reason: string; accepts_response_payload: boolean };

describe('Socket Mode with the real SocketModeClient', () => {
  it('apps.connections.open with the app token hands out a ws:// URL; hello completes start()', async () => {
    const emu = await emulator();
    await connect(emu);
    const open = emu.callsTo('apps.connections.open');
    expect(open).toHaveLength(1);
    expect(open[0]?.tokenKind).toBe('app');
    expect(String(open[0]?.response.url)).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:\\d+/link/\\?ticket=`));
    expect(emu.socketConnections).toBe(1);
  });

  it('the URL is single-use', async () => {
    const emu = await emulator();
    const res = await webClient(emu, APP_TOKEN).apps.connections.open({});
    const first = new WebSocket(res.url as string);
    const hello = await new Promise<{ type: string; connection_info: { app_id: string } }>((resolve) => first.once('message', (d) => resolve(JSON.parse(String(d)))));
    expect(hello).toMatchObject({ type: 'hello', connection_info: { app_id: emu.identity.appId } });
    const second = new WebSocket(res.url as string);
    const status = await new Promise<number>((resolve) => second.once('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0)));
    expect(status).toBe(401);
    first.close();
  });

  it('refuses a token sent as a POST parameter for apps.connections.open', async () => {
    const emu = await emulator();
    const res = await fetch(`${emu.apiUrl}apps.connections.open`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${APP_TOKEN}`,
    });
    expect(await res.json()).toMatchObject({ ok: false });
  });

  it('a click arrives as an interactive envelope and the ack flows back', async () => {
    const emu = await emulator();
    const events: SlackEvent[] = [];
    await connect(emu, (client) => {
      client.on('slack_event', (e: SlackEvent) => events.push(e));
      client.on('interactive', async ({ ack }: { ack: () => Promise<void> }) => ack());
    });
    const ts = await postCard(emu);
    const result = await emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'approve', user: 'U0ALICE0001' });
    expect(result).toMatchObject({ mode: 'socket', status: 200, ok: true, ackPayload: {} });
    expect(result.envelopeId).toEqual(expect.any(String));
    expect(events[0]).toMatchObject({
      type: 'interactive',
      envelope_id: result.envelopeId,
      retry_num: 0,
      retry_reason: '',
      accepts_response_payload: false,
      body: { type: 'block_actions', actions: [{ action_id: 'approve', value: 'act_1' }] },
    });
    expect(emu.socketMessagesReceived()).toContainEqual({ envelope_id: result.envelopeId, payload: {} });
  });

  it('a slash command arrives as slash_commands; the ack payload becomes the ephemeral reply', async () => {
    const emu = await emulator();
    await connect(emu, (client) => {
      client.on('slash_commands', async ({ ack, body, accepts_response_payload }: { ack: (p: object) => Promise<void>; body: Record<string, string>; accepts_response_payload: boolean }) => {
        await ack({ text: `Working on ${body.text} (${accepts_response_payload})` });
      });
    });
    const result = await emu.slashCommand({ command: '/countersign', text: 'act_1', user: 'U0BOB000001', channel: 'C0APPROVALS' });
    expect(result).toMatchObject({ mode: 'socket', ok: true, ackPayload: { text: 'Working on act_1 (true)' } });
    expect(result.payload).toMatchObject({ command: '/countersign', user_id: 'U0BOB000001', channel_id: 'C0APPROVALS' });
    expect(emu.ephemerals('C0APPROVALS', 'U0BOB000001').map((e) => e.text)).toEqual(['Working on act_1 (true)']);
  });

  it('no ack within the timeout is a failure the caller sees', async () => {
    const emu = await emulator(300);
    await connect(emu, (client) => client.on('interactive', () => {}));
    const ts = await postCard(emu);
    const result = await emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'approve', user: 'U0ALICE0001' });
    expect(result).toMatchObject({ mode: 'socket', ok: false, status: 0, error: 'ack_timeout' });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(290);
  });

  it('disconnect: the client closes and reconnects with a fresh URL', async () => {
    const emu = await emulator();
    const client = await connect(emu);
    const reconnected = new Promise<void>((resolve) => client.once('connected', () => resolve()));
    emu.disconnectSocket({ reason: 'refresh_requested' });
    await reconnected;
    expect(emu.callsTo('apps.connections.open')).toHaveLength(2);
    await emu.waitFor(() => emu.socketConnections === 1);
  });

  it('view submission over the socket: response_action update replaces the modal', async () => {
    const emu = await emulator();
    await connect(emu, (client) => {
      client.on('interactive', async ({ ack, body }: { ack: (p?: object) => Promise<void>; body: { type: string } }) => {
        if (body.type !== 'view_submission') return ack();
        await ack({ response_action: 'update', view: { type: 'modal', title: { type: 'plain_text', text: 'Thanks' }, blocks: [section('Recorded')] } });
      });
    });
    const trigger_id = emu.issueTriggerId('U0ALICE0001');
    const opened = await webClient(emu).views.open({
      trigger_id,
      view: {
        type: 'modal',
        title: { type: 'plain_text', text: 'Approve' },
        submit: { type: 'plain_text', text: 'Send' },
        blocks: [{ type: 'input', block_id: 'note', optional: true, label: { type: 'plain_text', text: 'Note' }, element: { type: 'plain_text_input', action_id: 'v' } }],
      },
    });
    const viewId = opened.view?.id as string;
    const result = await emu.submitView({ viewId, user: 'U0ALICE0001' });
    expect(result).toMatchObject({ mode: 'socket', ok: true });
    const view = emu.openedViews().find((v) => v.id === viewId);
    expect(view?.isOpen).toBe(true);
    expect(view?.view.title).toEqual({ type: 'plain_text', text: 'Thanks' });
    expect(view?.history).toHaveLength(2);
  });
});

describe('a Bolt App in Socket Mode', () => {
  it('receives the click and acks over the socket', async () => {
    const emu = await emulator();
    const app = new App({
      token: BOT_TOKEN,
      appToken: APP_TOKEN,
      socketMode: true,
      logger: silentLogger,
      clientOptions: { slackApiUrl: emu.apiUrl },
      installerOptions: { clientOptions: { slackApiUrl: emu.apiUrl } },
    });
    app.action<BlockAction<ButtonAction>>('deny', async ({ ack, body, client }) => {
      await ack();
      await client.chat.postMessage({ channel: body.channel?.id as string, thread_ts: body.message?.ts, text: `Denied by ${body.user.name}` });
    });
    await app.start();
    cleanups.push(() => app.stop());
    const ts = await postCard(emu);
    const result = await emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'deny', user: 'U0ALICE0001' });
    expect(result).toMatchObject({ mode: 'socket', ok: true });
    const reply = await emu.waitForMessage('C0APPROVALS', (m) => m.thread_ts === ts && m.ts !== ts);
    expect(reply.text).toBe('Denied by alice');
    expect(emu.thread('C0APPROVALS', ts)).toHaveLength(1);
  });
});
