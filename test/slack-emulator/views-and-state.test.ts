import type { ModalView } from '@slack/types';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SlackEmulator } from '../../src/slack-emulator/index.ts';
import { button, section, startCaptureServer, startEmulator, webClient } from './fixtures.ts';

let emu: SlackEmulator;
let app: Awaited<ReturnType<typeof startCaptureServer>>;
let ackBody: () => { body?: string; headers?: Record<string, string> } = () => ({});
beforeEach(async () => {
  emu = await startEmulator();
  ackBody = () => ({});
  app = await startCaptureServer(() => ackBody());
  emu.setEventsUrl(app.url);
});
afterEach(async () => {
  await app.close();
  await emu.close();
});

const payloads = () => app.requests.map((r) => JSON.parse(new URLSearchParams(r.body).get('payload') ?? 'null'));

const reviewModal: ModalView = {
  type: 'modal',
  callback_id: 'review',
  external_id: 'review:act_1',
  notify_on_close: true,
  title: { type: 'plain_text', text: 'Review' },
  submit: { type: 'plain_text', text: 'Send' },
  close: { type: 'plain_text', text: 'Cancel' },
  blocks: [
    {
      type: 'input',
      block_id: 'decision',
      label: { type: 'plain_text', text: 'Decision' },
      element: {
        type: 'static_select',
        action_id: 'pick',
        options: [
          { text: { type: 'plain_text', text: 'Approve' }, value: 'approve' },
          { text: { type: 'plain_text', text: 'Deny' }, value: 'deny' },
        ],
      },
    },
    { type: 'input', block_id: 'who', optional: true, label: { type: 'plain_text', text: 'Cc' }, element: { type: 'multi_users_select', action_id: 'users' } },
    { type: 'actions', block_id: 'more', elements: [button('details', 'Details', 'act_1')] },
  ],
};

describe('modals', () => {
  it('views.update by external_id with hash; a stale hash is hash_conflict', async () => {
    const client = webClient(emu);
    const opened = await client.views.open({ trigger_id: emu.issueTriggerId('U0ALICE0001'), view: reviewModal });
    const hash = opened.view?.hash as string;
    const updated = await client.views.update({ external_id: 'review:act_1', hash, view: { ...reviewModal, title: { type: 'plain_text', text: 'Review (2)' } } });
    expect(updated.view?.id).toBe(opened.view?.id);
    await expect(client.views.update({ view_id: opened.view?.id as string, hash, view: reviewModal })).rejects.toMatchObject({ data: { error: 'hash_conflict' } });
    await expect(client.views.update({ view_id: 'VNOPE', view: reviewModal })).rejects.toMatchObject({ data: { error: 'not_found' } });
    await expect(client.views.open({ trigger_id: emu.issueTriggerId('U0ALICE0001'), view: reviewModal })).rejects.toMatchObject({
      data: { error: 'duplicate_external_id' },
    });
  });

  it('a button inside a modal sends block_actions with container view; its trigger can push (max 3 deep)', async () => {
    const client = webClient(emu);
    const root = (await client.views.open({ trigger_id: emu.issueTriggerId('U0ALICE0001'), view: { ...reviewModal, external_id: undefined } })).view?.id as string;
    const click = await emu.clickButton({ viewId: root, actionId: 'details', user: 'U0ALICE0001' });
    expect(payloads()[0]).toMatchObject({ type: 'block_actions', container: { type: 'view', view_id: root }, view: { id: root }, actions: [{ action_id: 'details', value: 'act_1' }] });
    expect(payloads()[0].message).toBeUndefined();
    const child: ModalView = { type: 'modal', title: { type: 'plain_text', text: 'Details' }, blocks: [section('…')] };
    const pushed = await client.views.push({ trigger_id: click.triggerId, view: child });
    expect(pushed.view).toMatchObject({ previous_view_id: root, root_view_id: root });
    await client.views.push({ trigger_id: emu.issueTriggerId('U0ALICE0001'), view: child });
    await expect(client.views.push({ trigger_id: emu.issueTriggerId('U0ALICE0001'), view: child })).rejects.toMatchObject({ data: { error: 'push_limit_reached' } });
    expect(emu.viewStack('U0ALICE0001')).toHaveLength(3);
    await expect(emu.submitView({ viewId: root, user: 'U0ALICE0001', values: { decision: { pick: 'approve' } } })).rejects.toThrow(/not the visible view/);
  });

  it('submitView maps values to Slack state shapes and refuses unknown inputs or options', async () => {
    const view = (await webClient(emu).views.open({ trigger_id: emu.issueTriggerId('U0BOB000001'), view: reviewModal })).view?.id as string;
    await expect(emu.submitView({ viewId: view, user: 'U0BOB000001', values: { nope: { x: '1' } } })).rejects.toThrow(/no block nope/);
    await expect(emu.submitView({ viewId: view, user: 'U0BOB000001', values: { decision: { pick: 'maybe' } } })).rejects.toThrow(/No option with value "maybe"/);
    await expect(emu.submitView({ viewId: view, user: 'U0ALICE0001', values: { decision: { pick: 'deny' } } })).rejects.toThrow(/belongs to U0BOB000001/);
    const result = await emu.submitView({ viewId: view, user: 'U0BOB000001', values: { decision: { pick: 'deny' }, who: { users: ['U0ALICE0001'] } } });
    expect(result.payload).toMatchObject({
      type: 'view_submission',
      user: { id: 'U0BOB000001' },
      view: {
        callback_id: 'review',
        state: {
          values: {
            decision: { pick: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'Deny' }, value: 'deny' } } },
            who: { users: { type: 'multi_users_select', selected_users: ['U0ALICE0001'] } },
          },
        },
      },
    });
    expect(emu.openedViews()[0]).toMatchObject({ isOpen: false, closedBy: 'submission' });
  });

  it('response_action clear closes the whole stack; closing a notify_on_close view sends view_closed', async () => {
    const client = webClient(emu);
    const first = (await client.views.open({ trigger_id: emu.issueTriggerId('U0ALICE0001'), view: reviewModal })).view?.id as string;
    await emu.closeView({ viewId: first, user: 'U0ALICE0001' });
    expect(payloads()[0]).toMatchObject({ type: 'view_closed', view: { id: first }, is_cleared: false });

    const root = (await client.views.open({ trigger_id: emu.issueTriggerId('U0ALICE0001'), view: { ...reviewModal, external_id: 'second' } })).view?.id as string;
    const top = (await client.views.push({ trigger_id: emu.issueTriggerId('U0ALICE0001'), view: { ...reviewModal, external_id: 'third' } })).view?.id as string;
    ackBody = () => ({ body: JSON.stringify({ response_action: 'clear' }), headers: { 'content-type': 'application/json' } });
    await emu.submitView({ viewId: top, user: 'U0ALICE0001', values: { decision: { pick: 'approve' } } });
    expect(emu.viewStack('U0ALICE0001')).toEqual([]);
    expect(emu.openedViews().find((v) => v.id === root)?.closedBy).toBe('clear');
  });
});

describe('ephemeral messages with buttons', () => {
  it('a click on an ephemeral omits message and replace_original acts on the ephemeral', async () => {
    const client = webClient(emu);
    const { message_ts } = await client.chat.postEphemeral({
      channel: 'C0APPROVALS',
      user: 'U0ALICE0001',
      text: 'Confirm?',
      blocks: [{ type: 'actions', elements: [button('confirm', 'Confirm', 'yes')] }],
    });
    await expect(emu.clickButton({ channel: 'C0APPROVALS', ts: message_ts as string, actionId: 'confirm', user: 'U0BOB000001' })).rejects.toThrow(/no message/);
    const click = await emu.clickButton({ channel: 'C0APPROVALS', ts: message_ts as string, actionId: 'confirm', user: 'U0ALICE0001' });
    const payload = payloads()[0];
    expect(payload.container).toEqual({ type: 'message', message_ts, channel_id: 'C0APPROVALS', is_ephemeral: true });
    expect(payload.message).toBeUndefined();
    expect(payload.actions[0].block_id).toEqual(expect.any(String)); // generated by "Slack"
    await fetch(click.responseUrl as string, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ replace_original: true, text: 'Confirmed' }) });
    expect(emu.ephemerals('C0APPROVALS', 'U0ALICE0001').map((e) => e.text)).toEqual(['Confirmed']);
  });
});

describe('snapshot and change events for the sandbox page', () => {
  it('toJSON has channels with messages and threads; change fires on every state change', async () => {
    const kinds: string[] = [];
    emu.on('change', (e: { kind: string }) => kinds.push(e.kind));
    const client = webClient(emu);
    const parent = await client.chat.postMessage({ channel: 'approvals', text: 'card' });
    await client.chat.postMessage({ channel: 'approvals', text: 'reply', thread_ts: parent.ts as string });
    const snapshot = emu.toJSON();
    const channel = snapshot.channels.find((c) => c.id === 'C0APPROVALS');
    expect(channel?.messages).toHaveLength(1);
    expect(channel?.messages[0]?.replies.map((r) => r.text)).toEqual(['reply']);
    expect(JSON.parse(JSON.stringify(snapshot)).team.teamId).toBe(emu.identity.teamId);
    expect(kinds).toEqual(expect.arrayContaining(['message_posted', 'call']));
    const served = (await (await fetch(`${emu.url}/emulator/state`)).json()) as { channels: { id: string }[] };
    expect(served.channels.map((c) => c.id)).toContain('C0APPROVALS');
  });

  it('waitFor times out with a description', async () => {
    await expect(emu.waitForMessage('approvals', () => true, { timeoutMs: 50 })).rejects.toThrow(/timed out after 50 ms waiting for a message in approvals/);
  });
});
