import { elementsOf } from '../block-kit/validate.ts';
import type { ResponseUrlStore, TriggerStore } from '../grants.ts';
import type { Block, DeliveryResult, EmulatorUser, EphemeralMessage, JsonObject, SignedRequestOverrides, StoredMessage, StoredView } from '../types.ts';
import type { ViewStore } from '../view-store.ts';
import type { ChannelRecord, Workspace } from '../workspace.ts';
import { ackBody, applyCommandAck, applyViewSubmissionAck } from './ack-effects.ts';
import { type DeliveryTarget, deliver } from './deliver.ts';
import {
  findButton,
  messageBlockActions,
  slashCommandFields,
  viewBlockActions,
  viewClosed,
  viewSubmission,
} from './payloads.ts';
import { type UserInput, buildStateValues, isEmptyState } from './state-values.ts';

export interface InteractionDeps {
  ws: Workspace;
  views: ViewStore;
  triggers: TriggerStore;
  responseUrls: ResponseUrlStore;
  target: () => DeliveryTarget;
  baseUrl: () => string;
  record: (delivery: DeliveryResult & { kind: string }) => void;
}

export type ClickButtonOptions = {
  actionId: string;
  user: string;
  /** Chooses among buttons sharing an action_id; a click sends the button's own value, never this one. */
  value?: string;
  blockId?: string;
  overrides?: SignedRequestOverrides;
} & (
  | {
      channel: string;
      ts: string;
      /**
       * The version of the message the user's client still shows (index into `history`, negative from the
       * end): a click on a card as it looked before a `chat.update`, e.g. from a client that had not refreshed.
       */
      version?: number;
    }
  | { viewId: string }
);

export interface SubmitViewOptions {
  viewId: string;
  user: string;
  /** `{ block_id: { action_id: value } }`; see UserInput for value forms. */
  values?: Record<string, Record<string, UserInput>>;
  overrides?: SignedRequestOverrides;
}

export interface SlashCommandOptions {
  command: string;
  text?: string;
  user: string;
  channel: string;
  overrides?: SignedRequestOverrides;
}

function requireUser(ws: Workspace, id: string): EmulatorUser {
  const user = ws.users.get(id);
  if (!user) throw new Error(`Slack emulator: unknown user ${id}`);
  if (user.deleted) throw new Error(`Slack emulator: user ${id} is deactivated and cannot act`);
  return user;
}

function requireChannel(ws: Workspace, ref: string): ChannelRecord {
  const channel = ws.resolveChannel(ref, { allowName: true });
  if (!channel) throw new Error(`Slack emulator: unknown channel ${ref}`);
  return channel;
}

/** Presses a button that exists in a stored message (or open modal) and delivers Slack's block_actions payload. */
export async function clickButton(deps: InteractionDeps, opts: ClickButtonOptions): Promise<DeliveryResult> {
  const { ws } = deps;
  const user = requireUser(ws, opts.user);
  if ('viewId' in opts) {
    const view = requireOpenView(deps.views, opts.viewId, user.id);
    const found = findButton((view.view.blocks ?? []) as Block[], `view ${view.id}`, opts.actionId, opts.blockId, opts.value);
    const triggerId = deps.triggers.issue(user.id, ws.now(), view.id);
    const payload = viewBlockActions(ws, { user, view, found, triggerId });
    return finish(deps, 'block_actions', payload, triggerId, undefined, await deliver(deps.target(), 'interactive', payload, false, opts.overrides));
  }
  const channel = requireChannel(ws, opts.channel);
  if (!ws.isMember(channel, user.id)) throw new Error(`Slack emulator: ${user.id} is not in ${channel.id} and cannot see its messages`);
  const stored = ws.findMessage(channel.id, opts.ts);
  const ephemeral = stored ? undefined : ws.findEphemeral(channel.id, opts.ts);
  const visible = stored && !stored.deleted ? stored : ephemeral && !ephemeral.deleted && ephemeral.user === user.id ? ephemeral : undefined;
  if (!visible) throw new Error(`Slack emulator: no message ${opts.ts} visible to ${user.id} in ${channel.id}`);
  const message = opts.version === undefined ? visible : asShownIn(visible, opts.version);
  const found = findButton(message.blocks ?? [], `message ${opts.ts} in ${channel.id}`, opts.actionId, opts.blockId, opts.value);
  const triggerId = deps.triggers.issue(user.id, ws.now());
  const responseUrl = deps.responseUrls.issue(deps.baseUrl(), ws.identity.teamId, ws.now(), {
    kind: 'actions',
    user: user.id,
    channel: channel.id,
    messageTs: opts.ts,
    isEphemeral: message === ephemeral,
  }).url;
  const payload = messageBlockActions(ws, { user, channel, message, found, triggerId, responseUrl });
  const raw = await deliver(deps.target(), 'interactive', payload, false, opts.overrides);
  return finish(deps, 'block_actions', payload, triggerId, responseUrl, raw);
}

/** Submits the user's top modal with the given input, refusing what Slack's client would refuse. */
export async function submitView(deps: InteractionDeps, opts: SubmitViewOptions): Promise<DeliveryResult> {
  const { ws } = deps;
  const user = requireUser(ws, opts.user);
  const view = requireOpenView(deps.views, opts.viewId, user.id);
  if (deps.views.top(user.id)?.id !== view.id) throw new Error(`Slack emulator: view ${view.id} is not the visible view of ${user.id}`);
  if (view.view.type !== 'modal' || !view.view.submit) throw new Error(`Slack emulator: view ${view.id} has no submit button`);
  const blocks = (view.view.blocks ?? []) as Block[];
  checkInputKeys(blocks, opts.values ?? {}, view.id);
  const values = buildStateValues(blocks, opts.values);
  checkClientSideRules(blocks, values, view.id);
  const triggerId = deps.triggers.issue(user.id, ws.now(), view.id);
  const payload = viewSubmission(ws, { user, view, values, triggerId });
  const raw = await deliver(deps.target(), 'interactive', payload, true, opts.overrides);
  const ackError = raw.ok ? applyViewSubmissionAck(deps.views, view, ackBody(raw)) : undefined;
  return finish(deps, 'view_submission', payload, triggerId, undefined, raw, ackError);
}

/** The user closes a modal; Slack tells the app only when the view asked with notify_on_close. */
export async function closeView(deps: InteractionDeps, opts: { viewId: string; user: string; overrides?: SignedRequestOverrides }): Promise<DeliveryResult | undefined> {
  const { ws, views } = deps;
  const user = requireUser(ws, opts.user);
  const view = requireOpenView(views, opts.viewId, user.id);
  const isCleared = view.view.clear_on_close === true;
  if (isCleared) views.clear(user.id);
  else views.close(view, 'user');
  if (view.view.notify_on_close !== true) return undefined;
  const triggerId = '';
  const payload = viewClosed(ws, { user, view, isCleared });
  return finish(deps, 'view_closed', payload, triggerId, undefined, await deliver(deps.target(), 'interactive', payload, false, opts.overrides));
}

/** Runs a slash command as the user types it in a channel. */
export async function slashCommand(deps: InteractionDeps, opts: SlashCommandOptions): Promise<DeliveryResult> {
  const { ws } = deps;
  const user = requireUser(ws, opts.user);
  const channel = ws.resolveChannel(opts.channel, { allowName: true, allowUser: true });
  if (!channel) throw new Error(`Slack emulator: unknown channel ${opts.channel}`);
  const command = opts.command.startsWith('/') ? opts.command : `/${opts.command}`;
  const triggerId = deps.triggers.issue(user.id, ws.now());
  const responseUrl = deps.responseUrls.issue(deps.baseUrl(), ws.identity.teamId, ws.now(), {
    kind: 'commands',
    user: user.id,
    channel: channel.id,
    isEphemeral: false,
  }).url;
  const fields = slashCommandFields(ws, { user, channel, command, text: opts.text ?? '', triggerId, responseUrl });
  const raw = await deliver(deps.target(), 'slash_commands', fields, true, opts.overrides);
  const ackError = raw.ok ? applyCommandAck(ws, ackBody(raw), channel.id, user.id) : undefined;
  return finish(deps, 'slash_command', fields, triggerId, responseUrl, raw, ackError);
}

/** The message as one of its earlier versions rendered it (text, blocks, attachments of that version). */
function asShownIn<M extends StoredMessage | EphemeralMessage>(message: M, version: number): M {
  const shown = message.history.at(version);
  if (!shown) throw new Error(`Slack emulator: message has ${message.history.length} versions; there is no version ${version}`);
  return { ...message, text: shown.text, blocks: shown.blocks, attachments: shown.attachments };
}

function requireOpenView(views: ViewStore, viewId: string, userId: string): StoredView {
  const view = views.views.get(viewId);
  if (!view) throw new Error(`Slack emulator: no view ${viewId}`);
  if (view.user !== userId) throw new Error(`Slack emulator: view ${viewId} belongs to ${view.user}, not ${userId}`);
  if (!view.isOpen) throw new Error(`Slack emulator: view ${viewId} is closed`);
  return view;
}

function checkInputKeys(blocks: Block[], values: Record<string, Record<string, UserInput>>, viewId: string): void {
  for (const [blockId, byAction] of Object.entries(values)) {
    const block = blocks.find((b) => b.block_id === blockId);
    if (!block) throw new Error(`Slack emulator: view ${viewId} has no block ${blockId}`);
    const actionIds = elementsOf(block).map((e) => e.action_id);
    for (const actionId of Object.keys(byAction)) {
      if (!actionIds.includes(actionId)) throw new Error(`Slack emulator: block ${blockId} of view ${viewId} has no element ${actionId}`);
    }
  }
}

/** Slack's client will not submit a modal with an empty required input or a text outside min/max length. */
function checkClientSideRules(blocks: Block[], values: Record<string, Record<string, JsonObject>>, viewId: string): void {
  for (const block of blocks) {
    if (block.type !== 'input') continue;
    const element = elementsOf(block)[0];
    if (!element) continue;
    const state = values[String(block.block_id)]?.[String(element.action_id)];
    if (!state) continue;
    if (block.optional !== true && isEmptyState(state)) {
      throw new Error(`Slack emulator: required input ${String(block.block_id)} of view ${viewId} is empty; Slack would not submit`);
    }
    const text = typeof state.value === 'string' ? state.value : undefined;
    if (text === undefined) continue;
    if (typeof element.min_length === 'number' && text.length < element.min_length && text.length > 0) {
      throw new Error(`Slack emulator: input ${String(block.block_id)} is shorter than min_length ${element.min_length}`);
    }
    if (typeof element.max_length === 'number' && text.length > element.max_length) {
      throw new Error(`Slack emulator: input ${String(block.block_id)} is longer than max_length ${element.max_length}`);
    }
  }
}

function finish(
  deps: InteractionDeps,
  kind: string,
  payload: Record<string, unknown>,
  triggerId: string,
  responseUrl: string | undefined,
  raw: Awaited<ReturnType<typeof deliver>>,
  ackError?: string,
): DeliveryResult {
  const result: DeliveryResult = {
    ...raw,
    payload,
    triggerId,
    ...(responseUrl !== undefined ? { responseUrl } : {}),
    ...(ackError !== undefined ? { ackError } : {}),
  };
  deps.record({ ...result, kind });
  return result;
}
