import type { ActionsBlock, Button, SectionBlock } from '@slack/types';
import { type Logger, LogLevel, WebClient } from '@slack/web-api';
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

/** Keeps test output clean: WebClient logs Slack's `[ERROR]` response messages, which these tests provoke on purpose. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  setLevel: () => {},
  getLevel: () => LogLevel.ERROR,
  setName: () => {},
};

/** The app's real client, pointed at the emulator; retries kept short so tests stay fast. */
export function webClient(emulator: SlackEmulator, token = BOT_TOKEN, opts: ConstructorParameters<typeof WebClient>[1] = {}): WebClient {
  return new WebClient(token, {
    slackApiUrl: emulator.apiUrl,
    logger: silentLogger,
    retryConfig: { retries: 0 },
    ...opts,
  });
}

export const section = (text: string, type: 'mrkdwn' | 'plain_text' = 'mrkdwn'): SectionBlock => ({ type: 'section', text: { type, text } });
export const button = (actionId: string, text: string, value?: string, extra: Partial<Button> = {}): Button => ({
  type: 'button',
  action_id: actionId,
  text: { type: 'plain_text', text },
  ...(value !== undefined ? { value } : {}),
  ...extra,
});

/** An approval card like the product posts: a summary and Approve / Deny buttons. */
export function approvalCard(id: string): (SectionBlock | ActionsBlock)[] {
  return [
    section(`*Action* \`deploy\` requested (${id})`),
    { type: 'actions', block_id: `approval:${id}`, elements: [button('approve', 'Approve', id, { style: 'primary' }), button('deny', 'Deny', id, { style: 'danger' })] },
  ];
}

export interface CapturedRequest {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A bare HTTP endpoint standing in for the app: records what Slack (the emulator) sends, answers with `reply`. */
export async function startCaptureServer(
  reply: (req: CapturedRequest) => { status?: number; body?: string; headers?: Record<string, string>; delayMs?: number } = () => ({}),
) {
  const { createServer } = await import('node:http');
  const requests: CapturedRequest[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const captured = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
    requests.push(captured);
    const answer = reply(captured);
    if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
    res.writeHead(answer.status ?? 200, answer.headers ?? {});
    res.end(answer.body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/slack/events`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
