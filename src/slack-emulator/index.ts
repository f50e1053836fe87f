import { SlackEmulator } from './emulator.ts';
import type { SlackEmulatorOptions } from './types.ts';

/**
 * Starts a faithful Slack emulator (Web API, signed HTTP delivery, Socket Mode, response URLs) for tests
 * and sandbox mode. Point the app's WebClient at `emulator.apiUrl`.
 */
export async function startSlackEmulator(opts: SlackEmulatorOptions): Promise<SlackEmulator> {
  return SlackEmulator.start(opts);
}

export { SlackEmulator, type Delivery } from './emulator.ts';
export { signRequest } from './interactions/deliver.ts';
export type { ClickButtonOptions, SlashCommandOptions, SubmitViewOptions } from './interactions/user-actions.ts';
export type { UserInput } from './interactions/state-values.ts';
export { validateMessageBlocks, validateView } from './block-kit/validate.ts';
export type * from './types.ts';
