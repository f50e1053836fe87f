import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '@slack/web-api';
import { startSlackEmulator, type SlackEmulator } from '../../src/slack-emulator';
import { parseFileConfig } from '../../src/config/file-config';
import { createApproverDirectory } from '../../src/slack/approver-directory';

const BOT = 'xoxb-directory-test';
const config = parseFileConfig(`
approver_groups:
  ops: { channel: C0OPS, members: [U0ALICE, U0BOT] }
  on-call: { channel: C0ONCALL, usergroup: S0ONCALL }
  both: { channel: C0BOTH, members: [U0ALICE], usergroup: S0ONCALL }
`);

let slack: SlackEmulator;
let client: WebClient;
beforeAll(async () => {
  slack = await startSlackEmulator({
    botToken: BOT,
    signingSecret: 'directory-test-secret',
    channels: [{ id: 'C0OPS', name: 'ops' }],
    users: [
      { id: 'U0ALICE', name: 'alice' },
      { id: 'U0CAROL', name: 'carol' },
      { id: 'U0DAVE', name: 'dave' },
      { id: 'U0GONE', name: 'gone', deleted: true },
      { id: 'U0BOT', name: 'robot', is_bot: true },
    ],
    usergroups: [{ id: 'S0ONCALL', handle: 'on-call', users: ['U0CAROL', 'U0GONE'] }],
  });
  client = new WebClient(BOT, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
});
afterAll(async () => {
  await slack?.close();
});

describe('approver directory', () => {
  it('explicit members and user-group members are approvers; others are not', async () => {
    const dir = createApproverDirectory(config, client);
    expect(await dir.standing(['ops'], 'U0ALICE')).toBe('approver');
    expect(await dir.standing(['on-call'], 'U0CAROL')).toBe('approver');
    expect(await dir.standing(['on-call'], 'U0ALICE')).toBe('not-member');
    expect(await dir.standing(['ops', 'on-call'], 'U0CAROL')).toBe('approver');
    expect(await dir.standing(['both'], 'U0ALICE')).toBe('approver');
    expect(await dir.standing(['nope'], 'U0ALICE')).toBe('not-member');
    expect(await dir.standing([], 'U0ALICE')).toBe('not-member');
  });

  it('bots and deactivated accounts are never approvers, whatever the config says', async () => {
    const dir = createApproverDirectory(config, client);
    expect(await dir.standing(['ops'], 'U0BOT')).toBe('not-human');
    expect(await dir.standing(['on-call'], 'U0GONE')).toBe('not-human');
    // isMember alone (used by /audit and /countersign for their groups) only answers membership.
    expect(await dir.isMember('ops', 'U0BOT')).toBe(true);
  });

  it('reads a user group once per TTL, sharing concurrent look-ups, and sees rotations after it', async () => {
    const dir = createApproverDirectory(config, client, { usergroupTtlMs: 300 });
    const before = slack.callsTo('usergroups.users.list').length;
    const answers = await Promise.all([dir.isMember('on-call', 'U0CAROL'), dir.isMember('on-call', 'U0DAVE'), dir.isMember('both', 'U0CAROL')]);
    expect(answers).toEqual([true, false, true]);
    expect(slack.callsTo('usergroups.users.list').length - before).toBe(1);
    // The paging tool hands on-call to Dave; the next read after the TTL sees it.
    const group = (slack as unknown as { ws: { usergroups: Map<string, { users: string[] }> } }).ws.usergroups.get('S0ONCALL')!;
    group.users = ['U0DAVE'];
    expect(await dir.isMember('on-call', 'U0DAVE')).toBe(false);
    await new Promise((r) => setTimeout(r, 350));
    expect(await dir.isMember('on-call', 'U0DAVE')).toBe(true);
    expect(await dir.isMember('on-call', 'U0CAROL')).toBe(false);
    expect(slack.callsTo('usergroups.users.list').length - before).toBe(2);
    group.users = ['U0CAROL', 'U0GONE'];
  });

  it('does not cache a failed look-up: the click fails (and is refused by the caller), the next one asks again', async () => {
    const dir = createApproverDirectory(config, client);
    slack.failNext('usergroups.users.list', { error: 'ratelimited' });
    await expect(dir.isMember('on-call', 'U0CAROL')).rejects.toThrow();
    expect(await dir.isMember('on-call', 'U0CAROL')).toBe(true);
    slack.failNext('users.info', { status: 500 });
    await expect(dir.standing(['ops'], 'U0ALICE')).rejects.toThrow();
    expect(await dir.standing(['ops'], 'U0ALICE')).toBe('approver');
  });
});
