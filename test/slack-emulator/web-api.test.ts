import { ErrorCode, type WebAPIPlatformError } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SlackEmulator } from '../../src/slack-emulator/index.ts';
import { APP_TOKEN, BOT_TOKEN, approvalCard, section, startEmulator, webClient } from './fixtures.ts';

let emu: SlackEmulator;
beforeEach(async () => {
  emu = await startEmulator();
});
afterEach(async () => {
  await emu.close();
});

async function platformError(promise: Promise<unknown>): Promise<WebAPIPlatformError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  expect((err as WebAPIPlatformError).code).toBe(ErrorCode.PlatformError);
  return err as WebAPIPlatformError;
}

describe('Web API through the real @slack/web-api WebClient', () => {
  it('answers auth.test with the bot identity', async () => {
    const res = await webClient(emu).auth.test();
    expect(res).toMatchObject({ ok: true, user_id: emu.identity.botUserId, bot_id: emu.identity.botId, team_id: emu.identity.teamId });
  });

  it('posts a message form-encoded (blocks as a JSON string) and stores it with generated ids', async () => {
    const client = webClient(emu);
    const res = await client.chat.postMessage({ channel: 'C0APPROVALS', text: 'Approval needed', blocks: approvalCard('act_1') });
    expect(res.ok).toBe(true);
    expect(res.channel).toBe('C0APPROVALS');
    expect(res.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(res.message).toMatchObject({ text: 'Approval needed', bot_id: emu.identity.botId, user: emu.identity.botUserId });

    const call = emu.callsTo('chat.postMessage')[0];
    expect(call?.contentType).toBe('application/x-www-form-urlencoded');
    expect(call?.tokenKind).toBe('bot');
    expect(Array.isArray(call?.args.blocks)).toBe(true);

    const [stored] = emu.messages('approvals');
    expect(stored?.ts).toBe(res.ts);
    expect(stored?.blocks?.[0]?.block_id).toEqual(expect.any(String)); // Slack fills missing block_ids
    expect(stored?.blocks?.[1]?.block_id).toBe('approval:act_1');
  });

  it('accepts application/json with a Bearer token and warns about a missing charset', async () => {
    const res = await fetch(`${emu.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: 'C0APPROVALS', text: 'hi', blocks: [section('hi')] }),
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ ok: true, warning: 'missing_charset', response_metadata: { warnings: ['missing_charset'] } });
  });

  it('ignores a token inside a JSON body, as Slack does', async () => {
    const res = await fetch(`${emu.apiUrl}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ token: BOT_TOKEN }),
    });
    expect(await res.json()).toEqual({ ok: false, error: 'not_authed' });
  });

  it('reads a token from a form field', async () => {
    const res = await fetch(`${emu.apiUrl}auth.test`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: BOT_TOKEN }).toString(),
    });
    expect(await res.json()).toMatchObject({ ok: true });
  });

  it('updates a message, keeping blocks when omitted and recording history', async () => {
    const client = webClient(emu);
    const posted = await client.chat.postMessage({ channel: 'C0APPROVALS', text: 'v1', blocks: approvalCard('act_2') });
    const ts = posted.ts as string;
    const updated = await client.chat.update({ channel: 'C0APPROVALS', ts, text: 'v2', blocks: [section('Approved by <@U0ALICE0001>')] });
    expect(updated).toMatchObject({ ok: true, channel: 'C0APPROVALS', ts, text: 'v2' });
    await client.chat.update({ channel: 'C0APPROVALS', ts, text: 'v3' });
    const stored = emu.message('C0APPROVALS', ts);
    expect(stored?.text).toBe('v3');
    expect(stored?.blocks).toHaveLength(1);
    expect(stored?.history.map((h) => [h.text, h.via])).toEqual([
      ['v1', 'chat.postMessage'],
      ['v2', 'chat.update'],
      ['v3', 'chat.update'],
    ]);
    expect(stored?.edited?.user).toBe(emu.identity.botUserId);
  });

  it('threads replies under the parent', async () => {
    const client = webClient(emu);
    const parent = await client.chat.postMessage({ channel: 'C0APPROVALS', text: 'parent' });
    const reply = await client.chat.postMessage({ channel: 'C0APPROVALS', text: 'reply', thread_ts: parent.ts as string });
    expect(reply.message?.thread_ts).toBe(parent.ts);
    expect(emu.messages('C0APPROVALS').map((m) => m.text)).toEqual(['parent']);
    expect(emu.thread('C0APPROVALS', parent.ts as string).map((m) => m.text)).toEqual(['reply']);
    const link = await client.chat.getPermalink({ channel: 'C0APPROVALS', message_ts: reply.ts as string });
    expect(link.permalink).toContain(`?thread_ts=${parent.ts}&cid=C0APPROVALS`);
  });

  it('posts ephemerals only to channel members', async () => {
    const client = webClient(emu);
    const res = await client.chat.postEphemeral({ channel: 'C0APPROVALS', user: 'U0BOB000001', text: 'only you' });
    expect(res.message_ts).toEqual(expect.any(String));
    expect(emu.ephemerals('C0APPROVALS', 'U0BOB000001').map((e) => e.text)).toEqual(['only you']);
    const err = await platformError(client.chat.postEphemeral({ channel: 'C0PRIVATE01', user: 'U0BOB000001', text: 'x' }));
    expect(err.data.error).toBe('user_not_in_channel');
    expect((await platformError(client.chat.postEphemeral({ channel: 'C0APPROVALS', user: 'U0NOBODY', text: 'x' }))).data.error).toBe('user_not_found');
  });

  it('opens a DM when posting to a user id', async () => {
    const res = await webClient(emu).chat.postMessage({ channel: 'U0ALICE0001', text: 'dm' });
    expect(res.channel).toMatch(/^D/);
    expect(emu.messages(res.channel as string)).toHaveLength(1);
  });

  it('answers directory lookups', async () => {
    const client = webClient(emu);
    expect((await client.users.info({ user: 'U0ALICE0001' })).user).toMatchObject({ id: 'U0ALICE0001', name: 'alice', deleted: false });
    expect((await client.users.info({ user: 'U0GONE00001' })).user?.deleted).toBe(true);
    expect((await platformError(client.users.info({ user: 'U0NOPE' }))).data.error).toBe('user_not_found');
    expect((await client.usergroups.users.list({ usergroup: 'S0APPROVERS' })).users).toEqual(['U0ALICE0001', 'U0BOB000001']);
    expect((await platformError(client.usergroups.users.list({ usergroup: 'S0NOPE' }))).data.error).toBe('no_such_subteam');
    expect((await client.conversations.info({ channel: 'C0PRIVATE01' })).channel).toMatchObject({ is_private: true, name: 'secret-ops' });
  });

  describe('errors, answered with HTTP 200 and ok:false', () => {
    it('no token → not_authed, wrong token → invalid_auth, app token on a bot method → not_allowed_token_type', async () => {
      expect((await platformError(webClient(emu, '').auth.test())).data.error).toBe('not_authed');
      expect((await platformError(webClient(emu, 'xoxb-wrong').chat.postMessage({ channel: 'C0APPROVALS', text: 'x' }))).data.error).toBe('invalid_auth');
      expect((await platformError(webClient(emu, APP_TOKEN).chat.postMessage({ channel: 'C0APPROVALS', text: 'x' }))).data.error).toBe('not_allowed_token_type');
      expect((await platformError(webClient(emu).apps.connections.open({}))).data.error).toBe('not_allowed_token_type');
      expect(emu.calls.every((c) => c.status === 200)).toBe(true);
    });

    it('revoked token → token_revoked', async () => {
      emu.revokeToken('bot');
      expect((await platformError(webClient(emu).auth.test())).data.error).toBe('token_revoked');
    });

    it('channel_not_found, not_in_channel, message_not_found, no_text, unknown_method', async () => {
      const client = webClient(emu);
      expect((await platformError(client.chat.postMessage({ channel: 'C0MISSING', text: 'x' }))).data.error).toBe('channel_not_found');
      expect((await platformError(client.chat.postMessage({ channel: 'C0NOTMEMBER', text: 'x' }))).data.error).toBe('not_in_channel');
      expect((await platformError(client.chat.update({ channel: 'C0APPROVALS', ts: '1.000001', text: 'x' }))).data.error).toBe('message_not_found');
      expect((await platformError(client.chat.postMessage({ channel: 'C0APPROVALS' } as never))).data.error).toBe('no_text');
      expect((await platformError(client.apiCall('chat.nope'))).data.error).toBe('unknown_method');
    });

    it('truncates text above 40,000 characters', async () => {
      const res = await webClient(emu).chat.postMessage({ channel: 'C0APPROVALS', text: 'x'.repeat(40_010) });
      expect(emu.message('C0APPROVALS', res.ts as string)?.text).toHaveLength(40_000);
    });
  });
});
