import { App, type BlockAction, type ButtonAction, HTTPReceiver } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SlackEmulator } from '../../src/slack-emulator/index.ts';
import { BOT_TOKEN, SIGNING_SECRET, approvalCard, section, silentLogger, startEmulator, webClient } from './fixtures.ts';

let emu: SlackEmulator;
const cleanups: (() => Promise<unknown>)[] = [];
beforeEach(async () => {
  emu = await startEmulator({ ackTimeoutMs: 1000 });
  cleanups.push(() => emu.close());
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function postCard(id = 'act_1'): Promise<string> {
  const res = await webClient(emu).chat.postMessage({ channel: 'C0APPROVALS', text: `Approval ${id}`, blocks: approvalCard(id) });
  return res.ts as string;
}

describe('a minimal Bolt App (HTTPReceiver) against the emulator', () => {
  async function startBolt(register: (app: App) => void) {
    const receiver = new HTTPReceiver({ signingSecret: SIGNING_SECRET, logger: silentLogger });
    const app = new App({ token: BOT_TOKEN, receiver, logger: silentLogger, clientOptions: { slackApiUrl: emu.apiUrl } });
    register(app);
    const server = await app.start({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => app.stop());
    emu.setEventsUrl(`http://127.0.0.1:${(server.address() as { port: number }).port}/slack/events`);
    return app;
  }

  it('receives a click, acks, and updates the card through the emulator', async () => {
    const seen: BlockAction<ButtonAction>[] = [];
    await startBolt((app) => {
      app.action<BlockAction<ButtonAction>>('approve', async ({ ack, body, client }) => {
        await ack();
        seen.push(body);
        await client.chat.update({
          channel: body.channel?.id as string,
          ts: body.message?.ts as string,
          text: `Approved by ${body.user.name}`,
          blocks: [section(`Approved by <@${body.user.id}>`)],
        });
      });
    });
    const ts = await postCard('act_7');
    const result = await emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'approve', user: 'U0ALICE0001' });
    expect(result).toMatchObject({ mode: 'http', status: 200, ok: true });
    const updated = await emu.waitForMessage('C0APPROVALS', (m) => m.ts === ts && m.text === 'Approved by alice');
    expect(updated.blocks).toEqual([expect.objectContaining({ text: { type: 'mrkdwn', text: 'Approved by <@U0ALICE0001>' } })]);
    expect(seen[0]?.actions[0]?.value).toBe('act_7');
    expect(emu.callsTo('auth.test')).toHaveLength(1); // Bolt verified its token against the emulator
  });

  it('rejects a forged click (401) and a stale one', async () => {
    let handled = 0;
    await startBolt((app) => app.action('approve', async ({ ack }) => {
      handled++;
      await ack();
    }));
    const ts = await postCard();
    const forged = await emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'approve', user: 'U0ALICE0001', overrides: { signature: 'v0=00' } });
    const stale = await emu.clickButton({
      channel: 'C0APPROVALS', ts, actionId: 'approve', user: 'U0ALICE0001', overrides: { timestamp: Math.floor(Date.now() / 1000) - 600 },
    });
    expect(forged).toMatchObject({ ok: false, status: 401 });
    expect(stale).toMatchObject({ ok: false, status: 401 });
    expect(handled).toBe(0);
  });

  it('slash command → ack text (ephemeral) → views.open with the trigger → submission errors, then success', async () => {
    await startBolt((app) => {
      app.command('/countersign', async ({ ack, body, client }) => {
        await ack('Opening…');
        await client.views.open({
          trigger_id: body.trigger_id,
          view: {
            type: 'modal',
            callback_id: 'deny_reason',
            private_metadata: 'act_3',
            title: { type: 'plain_text', text: 'Deny act_3' },
            submit: { type: 'plain_text', text: 'Deny' },
            blocks: [{ type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Reason' }, element: { type: 'plain_text_input', action_id: 'text' } }],
          },
        });
      });
      app.view('deny_reason', async ({ ack, view }) => {
        const reason = view.state.values.reason?.text?.value ?? '';
        if (reason.length < 5) await ack({ response_action: 'errors', errors: { reason: 'Say a bit more' } });
        else await ack();
      });
    });
    const command = await emu.slashCommand({ command: '/countersign', text: 'deny act_3', user: 'U0BOB000001', channel: 'C0APPROVALS' });
    expect(command.ok).toBe(true);
    expect(emu.ephemerals('C0APPROVALS', 'U0BOB000001').map((e) => e.text)).toEqual(['Opening…']);
    const view = await emu.waitForView((v) => v.callback_id === 'deny_reason' && v.isOpen);
    expect(view).toMatchObject({ user: 'U0BOB000001', private_metadata: 'act_3' });

    await expect(emu.submitView({ viewId: view.id, user: 'U0BOB000001' })).rejects.toThrow(/required input reason/);
    const short = await emu.submitView({ viewId: view.id, user: 'U0BOB000001', values: { reason: { text: 'no' } } });
    expect(short.ok).toBe(true);
    expect(view.isOpen).toBe(true);
    expect(view.errors).toEqual({ reason: 'Say a bit more' });
    const submitted = await emu.submitView({ viewId: view.id, user: 'U0BOB000001', values: { reason: { text: 'Too risky on a Friday' } } });
    expect(submitted.payload).toMatchObject({
      type: 'view_submission',
      view: { id: view.id, callback_id: 'deny_reason', private_metadata: 'act_3', state: { values: { reason: { text: { type: 'plain_text_input', value: 'Too risky on a Friday' } } } } },
    });
    expect(view.isOpen).toBe(false);
    expect(view.closedBy).toBe('submission');
  });

  it('respond() from a click posts to the response_url', async () => {
    await startBolt((app) => app.action('deny', async ({ ack, respond }) => {
      await ack();
      await respond({ replace_original: true, text: 'Denied' });
    }));
    const ts = await postCard();
    await emu.clickButton({ channel: 'C0APPROVALS', ts, actionId: 'deny', user: 'U0ALICE0001' });
    await emu.waitFor(() => emu.responseUrlPosts().length === 1);
    expect(emu.message('C0APPROVALS', ts)?.text).toBe('Denied');
    expect(emu.message('C0APPROVALS', ts)?.blocks).toBeUndefined();
  });
});
