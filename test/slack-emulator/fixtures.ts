import { LogLevel, WebClient } from '@slack/web-api';
import { type SlackEmulator, type SlackEmulatorOptions, startSlackEmulator } from '../../src/slack-emulator/index.ts';

export const BOT_TOKEN = 'xoxb-test-bot-token';
export const APP_TOKEN = 'xapp-1-test-app-token';
export const SIGNING_SECRET = 'test-signing-secret';

export const CHANNELS = [
  { id: 'C0APPROVALS', name: 'approvals' },
  { id: 'C0PRIVATE01', name: 'secret-ops', is_private: true, members: ['U0ALICE0001'] },
  { id: 'C0NOTMEMBER', name: 'elsewhere', is_member: false },
];
export const USERS = [
  { id: 'U0ALICE0001', name: 'alice' },
  { id: 'U0BOB000001', name: 'bob' },
  { id: 'U0GONE00001', name: 'gone', deleted: true },
];
export const USERGROUPS = [{ id: 'S0APPROVERS', handle: 'approvers', users: ['U0ALICE0001', 'U0BOB000001'] }];

export function emulatorOptions(overrides: Partial<SlackEmulatorOptions> = {}): SlackEmulatorOptions {
  return {
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    appToken: APP_TOKEN,
    channels: CHANNELS,
    users: USERS,
    usergroups: USERGROUPS,
    ...overrides,
  };
}

export function startEmulator(overrides: Partial<SlackEmulatorOptions> = {}): Promise<SlackEmulator> {
  return startSlackEmulator(emulatorOptions(overrides));
}

/** The app's real client, pointed at the emulator; retries kept short so tests stay fast. */
export function webClient(emulator: SlackEmulator, token = BOT_TOKEN, opts: ConstructorParameters<typeof WebClient>[1] = {}): WebClient {
  return new WebClient(token, {
    slackApiUrl: emulator.apiUrl,
    logLevel: LogLevel.ERROR,
    retryConfig: { retries: 0 },
    ...opts,
  });
}

export const section = (text: string, type: 'mrkdwn' | 'plain_text' = 'mrkdwn') => ({ type: 'section', text: { type, text } });
export const button = (actionId: string, text: string, value?: string, extra: Record<string, unknown> = {}) => ({
  type: 'button',
  action_id: actionId,
  text: { type: 'plain_text', text },
  ...(value !== undefined ? { value } : {}),
  ...extra,
});

/** An approval card like the product posts: a summary and Approve / Deny buttons. */
export function approvalCard(id: string) {
  return [
    section(`*Action* \`deploy\` requested (${id})`),
    { type: 'actions', block_id: `approval:${id}`, elements: [button('approve', 'Approve', id, { style: 'primary' }), button('deny', 'Deny', id, { style: 'danger' })] },
  ];
}
