import { elementsOf } from '../block-kit/validate.ts';
import { renderMessage } from '../render.ts';
import type { Block, EmulatorUser, EphemeralMessage, JsonObject, StoredMessage, StoredView } from '../types.ts';
import type { ChannelRecord, Workspace } from '../workspace.ts';
import { type UserInput, buildStateValues } from './state-values.ts';

/** Slack still sends the deprecated verification token in payloads; the emulator's is fixed. */
export const VERIFICATION_TOKEN = 'emulator-verification-token';

export function userRef(u: EmulatorUser, teamId: string): JsonObject {
  return { id: u.id, username: u.name, name: u.name, team_id: teamId };
}

function teamRef(ws: Workspace): JsonObject {
  return { id: ws.identity.teamId, domain: ws.identity.teamDomain };
}

/** Slack names DMs "directmessage" in interaction payloads. */
export function channelName(c: ChannelRecord): string {
  return c.is_im ? 'directmessage' : c.name;
}

export interface FoundButton {
  block: Block;
  element: Record<string, unknown>;
}

/** Finds the one button a click can press; throws (listing what exists) when there is none or it is ambiguous. */
export function findButton(blocks: Block[], where: string, actionId: string, blockId?: string, value?: string): FoundButton {
  const buttons: FoundButton[] = [];
  for (const block of blocks) for (const element of elementsOf(block)) if (element.type === 'button') buttons.push({ block, element });
  const matches = buttons.filter(
    ({ block, element }) =>
      element.action_id === actionId &&
      (blockId === undefined || block.block_id === blockId) &&
      (value === undefined || element.value === value),
  );
  const first = matches[0];
  if (first && matches.length === 1) return first;
  const available = buttons.map(({ block, element }) => `${String(block.block_id)}/${String(element.action_id)}=${String(element.value ?? '')}`);
  if (!first) {
    throw new Error(`Slack emulator: no button ${actionId}${blockId ? ` in block ${blockId}` : ''}${value !== undefined ? ` with value ${value}` : ''} in ${where}; buttons there: [${available.join(', ')}]`);
  }
  throw new Error(`Slack emulator: ${matches.length} buttons match ${actionId} in ${where}; pass blockId or value to choose (${available.join(', ')})`);
}

function actionOf(found: FoundButton, actionTs: string): JsonObject {
  const { block, element } = found;
  return {
    action_id: String(element.action_id),
    block_id: String(block.block_id),
    text: element.text as JsonObject,
    ...(element.value !== undefined ? { value: String(element.value) } : {}),
    ...(element.style !== undefined ? { style: String(element.style) } : {}),
    type: 'button',
    action_ts: actionTs,
  };
}

/** A `block_actions` payload for a button in a channel message or an ephemeral message. */
export function messageBlockActions(
  ws: Workspace,
  args: {
    user: EmulatorUser;
    channel: ChannelRecord;
    message: StoredMessage | EphemeralMessage;
    found: FoundButton;
    triggerId: string;
    responseUrl: string;
  },
): Record<string, unknown> {
  const { user, channel, message, found } = args;
  const isEphemeral = !('ts' in message);
  const messageTs = 'ts' in message ? message.ts : message.message_ts;
  const blocks = message.blocks ?? [];
  return {
    type: 'block_actions',
    user: userRef(user, ws.identity.teamId),
    api_app_id: ws.identity.appId,
    token: VERIFICATION_TOKEN,
    container: {
      type: 'message',
      message_ts: messageTs,
      channel_id: channel.id,
      is_ephemeral: isEphemeral,
      ...(message.thread_ts !== undefined ? { thread_ts: message.thread_ts } : {}),
    },
    trigger_id: args.triggerId,
    team: teamRef(ws),
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel.id, name: channelName(channel) },
    // Slack leaves the message out for ephemeral messages.
    ...(isEphemeral ? {} : { message: renderMessage(message as StoredMessage, ws.identity) }),
    state: { values: buildStateValues(blocks) },
    response_url: args.responseUrl,
    actions: [actionOf(found, ws.nextTs())],
  };
}

/** A `block_actions` payload for a button inside a modal. */
export function viewBlockActions(
  ws: Workspace,
  args: { user: EmulatorUser; view: StoredView; found: FoundButton; triggerId: string },
): Record<string, unknown> {
  const { user, view, found } = args;
  const blocks = (view.view.blocks ?? []) as Block[];
  return {
    type: 'block_actions',
    user: userRef(user, ws.identity.teamId),
    api_app_id: ws.identity.appId,
    token: VERIFICATION_TOKEN,
    container: { type: 'view', view_id: view.id },
    trigger_id: args.triggerId,
    team: teamRef(ws),
    enterprise: null,
    is_enterprise_install: false,
    view: { ...view.view, state: { values: buildStateValues(blocks) } },
    actions: [actionOf(found, ws.nextTs())],
  };
}

export function viewSubmission(
  ws: Workspace,
  args: { user: EmulatorUser; view: StoredView; values: Record<string, Record<string, JsonObject>>; triggerId: string },
): Record<string, unknown> {
  return {
    type: 'view_submission',
    team: teamRef(ws),
    user: userRef(args.user, ws.identity.teamId),
    api_app_id: ws.identity.appId,
    token: VERIFICATION_TOKEN,
    trigger_id: args.triggerId,
    view: { ...args.view.view, state: { values: args.values } },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

export function viewClosed(ws: Workspace, args: { user: EmulatorUser; view: StoredView; isCleared: boolean }): Record<string, unknown> {
  const blocks = (args.view.view.blocks ?? []) as Block[];
  return {
    type: 'view_closed',
    team: teamRef(ws),
    user: userRef(args.user, ws.identity.teamId),
    api_app_id: ws.identity.appId,
    token: VERIFICATION_TOKEN,
    view: { ...args.view.view, state: { values: buildStateValues(blocks) } },
    is_cleared: args.isCleared,
    is_enterprise_install: false,
    enterprise: null,
  };
}

/** The form fields of a slash command, in the order Slack sends them. */
export function slashCommandFields(
  ws: Workspace,
  args: { user: EmulatorUser; channel: ChannelRecord; command: string; text: string; triggerId: string; responseUrl: string },
): Record<string, string> {
  return {
    token: VERIFICATION_TOKEN,
    team_id: ws.identity.teamId,
    team_domain: ws.identity.teamDomain,
    channel_id: args.channel.id,
    channel_name: channelName(args.channel),
    user_id: args.user.id,
    user_name: args.user.name,
    command: args.command,
    text: args.text,
    api_app_id: ws.identity.appId,
    is_enterprise_install: 'false',
    response_url: args.responseUrl,
    trigger_id: args.triggerId,
  };
}

export type { UserInput };
