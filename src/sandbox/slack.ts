import { randomBytes } from 'node:crypto';
import type { FileConfig } from '../config/file-config';
import { startSlackEmulator, type SlackEmulator } from '../slack-emulator';
import { sandboxWorkspace } from './config';

export type SandboxSlack = { emulator: SlackEmulator; botToken: string; signingSecret: string };

/**
 * Starts the built-in Slack emulator for sandbox mode, with fresh credentials each run. The app talks to
 * it exactly as to Slack: Web API calls to `emulator.apiUrl`, signed interactions to `/slack/events`.
 */
export async function startSandboxSlack(config: FileConfig): Promise<SandboxSlack> {
  const botToken = `xoxb-sandbox-${randomBytes(12).toString('hex')}`;
  const signingSecret = randomBytes(24).toString('hex');
  const emulator = await startSlackEmulator({
    botToken,
    signingSecret,
    ...sandboxWorkspace(config),
    team: { name: 'Countersign sandbox', domain: 'countersign-sandbox' },
    bot: { name: 'countersign' },
  });
  return { emulator, botToken, signingSecret };
}
