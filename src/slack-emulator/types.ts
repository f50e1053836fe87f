/** Public types of the Slack emulator. Payload shapes are loose on purpose: the emulator checks them at run time. */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
/** A Block Kit block or element as received: validated at run time, never trusted by type. */
export type Block = Record<string, unknown>;

export interface EmulatorChannel {
  id: string;
  name: string;
  is_private?: boolean;
  /** Whether the bot is in the channel (default true). Posting to a channel the bot is not in fails with `not_in_channel`. */
  is_member?: boolean;
  /** Channel members; when omitted every workspace user counts as a member. */
  members?: string[];
}

export interface EmulatorUser {
  id: string;
  name: string;
  real_name?: string;
  is_bot?: boolean;
  deleted?: boolean;
  is_admin?: boolean;
  tz?: string;
}

export interface EmulatorUsergroup {
  id: string;
  handle: string;
  name?: string;
  users: string[];
}

export interface RateLimitRule {
  /** Calls allowed per window. */
  limit: number;
  windowMs: number;
  /** `channel`: one bucket per channel argument (chat.postMessage's ~1/s/channel); `method`: one bucket per method. */
  per?: 'channel' | 'method';
}

export interface SlackEmulatorOptions {
  botToken: string;
  signingSecret: string;
  /** App-level token (xapp-…); enables Socket Mode via apps.connections.open. */
  appToken?: string;
  /** Where signed interactions and slash commands are POSTed in HTTP mode. */
  eventsUrl?: string;
  channels: EmulatorChannel[];
  users: EmulatorUser[];
  usergroups?: EmulatorUsergroup[];
  port?: number;
  host?: string;
  team?: { id?: string; name?: string; domain?: string };
  appId?: string;
  bot?: { userId?: string; botId?: string; name?: string };
  rateLimits?: {
    /** chat.postMessage at about 1 message per second per channel (off by default so tests stay fast). */
    chatPostMessagePerChannel?: boolean | RateLimitRule;
    /** Per-method limits from Slack's tiers (1: 1/min … 4: 100/min). Off by default. */
    tiers?: boolean;
    /** Explicit per-method rules; these win over tiers. */
    methods?: Record<string, RateLimitRule>;
  };
  /** How long Slack waits for an ack (HTTP response or Socket Mode ack). Default 3000 ms. */
  ackTimeoutMs?: number;
  /** Lifetime of a trigger_id. Default 3000 ms. */
  triggerTtlMs?: number;
}

export type Fault =
  | { status: 429; retryAfter?: number; times?: number }
  | { status: number; body?: string; times?: number }
  | { error: string; times?: number; responseMetadata?: JsonObject }
  | { delayMs: number; times?: number };

export interface ApiCall {
  method: string;
  args: Record<string, unknown>;
  contentType: string;
  tokenKind: 'bot' | 'app' | 'unknown' | 'none';
  status: number;
  response: JsonObject;
  headers: Record<string, string>;
  at: number;
}

export interface MessageVersion {
  text: string;
  blocks?: Block[];
  attachments?: unknown[];
  at: number;
  via: 'chat.postMessage' | 'chat.postEphemeral' | 'chat.update' | 'response_url' | 'ack';
}

export interface StoredMessage {
  type: 'message';
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: Block[];
  attachments?: unknown[];
  user: string;
  bot_id: string;
  app_id: string;
  team: string;
  reply_broadcast?: boolean;
  metadata?: unknown;
  edited?: { user: string; ts: string };
  deleted: boolean;
  /** Every version, oldest first; the last one is what the channel shows now. */
  history: MessageVersion[];
}

export interface EphemeralMessage {
  channel: string;
  user: string;
  message_ts: string;
  thread_ts?: string;
  text: string;
  blocks?: Block[];
  attachments?: unknown[];
  source: 'chat.postEphemeral' | 'response_url' | 'ack';
  deleted: boolean;
  history: MessageVersion[];
}

export interface StoredView {
  id: string;
  user: string;
  team_id: string;
  type: string;
  callback_id: string;
  external_id: string;
  private_metadata: string;
  hash: string;
  root_view_id: string;
  previous_view_id: string | null;
  view: JsonObject;
  isOpen: boolean;
  closedBy?: 'submission' | 'clear' | 'user' | 'replaced';
  /** Errors returned by the app with `response_action: "errors"` on the last submission. */
  errors?: Record<string, string>;
  history: JsonObject[];
}

export interface ResponseUrlPost {
  url: string;
  kind: 'commands' | 'actions';
  user: string;
  channel: string;
  body: unknown;
  status: number;
  responseBody: string;
  effect: 'replaced' | 'deleted' | 'in_channel' | 'ephemeral' | 'rejected';
  at: number;
}

export interface DeliveryResult {
  mode: 'http' | 'socket';
  /** HTTP status of the app's answer (HTTP mode), 200 for an ack in Socket Mode, 0 when nothing came back. */
  status: number;
  body: string;
  headers: Record<string, string>;
  elapsedMs: number;
  /** True when the app answered 200 (HTTP) or acked (Socket Mode) within the ack timeout. */
  ok: boolean;
  error?: 'ack_timeout' | 'http_error' | 'connection_failed';
  /** Socket Mode: the ack's payload, if any. */
  ackPayload?: unknown;
  envelopeId?: string;
  /** Socket Mode: which of the app's open connections the envelope went to (Slack spreads them across all). */
  connectionId?: string;
  /** What Slack sent: the interaction payload or the slash command fields. */
  payload: Record<string, unknown>;
  triggerId: string;
  responseUrl?: string;
  /** Why Slack could not use the app's ack body (e.g. invalid blocks in a slash command reply, a bad response_action view). */
  ackError?: string;
}

export interface SignedRequestOverrides {
  /** Seconds since the epoch to put in X-Slack-Request-Timestamp (e.g. a stale one). */
  timestamp?: number;
  /** A signature to send instead of the correct one. */
  signature?: string;
  /** Extra headers (e.g. X-Slack-Retry-Num). */
  headers?: Record<string, string>;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** Shown in the timeout error. */
  description?: string;
}
