import { slackId, TsClock } from './ids.ts';
import type {
  Block,
  EmulatorChannel,
  EmulatorUser,
  EmulatorUsergroup,
  EphemeralMessage,
  MessageVersion,
  SlackEmulatorOptions,
  StoredMessage,
} from './types.ts';

export interface ChannelRecord extends EmulatorChannel {
  is_im: boolean;
  /** For DMs: the other party. */
  user?: string;
  created: number;
}

export interface Identity {
  teamId: string;
  teamName: string;
  teamDomain: string;
  appId: string;
  botUserId: string;
  botId: string;
  botName: string;
}

export interface MessageContent {
  text: string;
  blocks?: Block[];
  attachments?: unknown[];
}

/**
 * The workspace's state: people, channels, messages, ephemerals. Views, triggers and response URLs live
 * in their own stores; this one only knows conversations.
 */
export class Workspace {
  readonly identity: Identity;
  readonly channels = new Map<string, ChannelRecord>();
  readonly users = new Map<string, EmulatorUser>();
  readonly usergroups = new Map<string, EmulatorUsergroup>();
  /** Every message, top-level and replies, per channel, in posting order. */
  readonly messagesByChannel = new Map<string, StoredMessage[]>();
  readonly ephemeralMessages: EphemeralMessage[] = [];
  private readonly tsClock = new TsClock();
  private clockOffsetMs = 0;

  constructor(
    opts: SlackEmulatorOptions,
    private readonly onChange: (kind: string, detail: unknown) => void,
  ) {
    this.identity = {
      teamId: opts.team?.id ?? slackId('T'),
      teamName: opts.team?.name ?? 'Countersign Emulator',
      teamDomain: opts.team?.domain ?? 'countersign-emulator',
      appId: opts.appId ?? slackId('A'),
      botUserId: opts.bot?.userId ?? slackId('U'),
      botId: opts.bot?.botId ?? slackId('B'),
      botName: opts.bot?.name ?? 'countersign',
    };
    const created = Math.floor(Date.now() / 1000);
    for (const c of opts.channels) this.channels.set(c.id, { ...c, is_im: false, created });
    for (const u of opts.users) this.users.set(u.id, { ...u });
    for (const g of opts.usergroups ?? []) this.usergroups.set(g.id, { ...g, users: [...g.users] });
  }

  /** The emulator's clock: real time plus whatever `advance` added (expiry of triggers and response URLs). */
  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  advance(ms: number): void {
    this.clockOffsetMs += ms;
  }

  nextTs(): string {
    return this.tsClock.next(this.now());
  }

  /**
   * Finds a conversation the way chat.postMessage does: by id, by name (`general` or `#general`) when
   * `allowName`, and a user id opens (or reuses) the app's DM with that user when `allowUser`.
   */
  resolveChannel(ref: string, opts: { allowName?: boolean; allowUser?: boolean } = {}): ChannelRecord | undefined {
    const byId = this.channels.get(ref);
    if (byId) return byId;
    if (opts.allowName) {
      const name = ref.replace(/^#/, '');
      for (const c of this.channels.values()) if (!c.is_im && c.name === name) return c;
    }
    if (opts.allowUser && this.users.has(ref)) return this.dmWith(ref);
    return undefined;
  }

  private dmWith(userId: string): ChannelRecord {
    for (const c of this.channels.values()) if (c.is_im && c.user === userId) return c;
    const dm: ChannelRecord = {
      id: slackId('D'),
      name: userId,
      is_im: true,
      is_private: true,
      is_member: true,
      user: userId,
      members: [userId],
      created: Math.floor(this.now() / 1000),
    };
    this.channels.set(dm.id, dm);
    return dm;
  }

  isMember(channel: ChannelRecord, userId: string): boolean {
    if (channel.members === undefined) return this.users.has(userId);
    return channel.members.includes(userId);
  }

  channelMessages(channel: string): StoredMessage[] {
    let list = this.messagesByChannel.get(channel);
    if (!list) {
      list = [];
      this.messagesByChannel.set(channel, list);
    }
    return list;
  }

  findMessage(channel: string, ts: string): StoredMessage | undefined {
    return this.messagesByChannel.get(channel)?.find((m) => m.ts === ts);
  }

  topLevel(channel: string): StoredMessage[] {
    return (this.messagesByChannel.get(channel) ?? []).filter((m) => m.thread_ts === undefined || m.thread_ts === m.ts);
  }

  replies(channel: string, threadTs: string): StoredMessage[] {
    return (this.messagesByChannel.get(channel) ?? []).filter((m) => m.thread_ts === threadTs && m.ts !== threadTs);
  }

  postMessage(
    channel: ChannelRecord,
    content: MessageContent,
    extra: { thread_ts?: string; reply_broadcast?: boolean; metadata?: unknown; via: MessageVersion['via'] },
  ): StoredMessage {
    const ts = this.nextTs();
    let threadTs = extra.thread_ts;
    if (threadTs !== undefined) {
      // A reply to a reply joins the parent's thread, as in Slack.
      const parent = this.findMessage(channel.id, threadTs);
      if (parent?.thread_ts !== undefined) threadTs = parent.thread_ts;
      if (parent && parent.thread_ts === undefined) parent.thread_ts = parent.ts;
    }
    const message: StoredMessage = {
      type: 'message',
      channel: channel.id,
      ts,
      ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      text: content.text,
      ...(content.blocks !== undefined ? { blocks: content.blocks } : {}),
      ...(content.attachments !== undefined ? { attachments: content.attachments } : {}),
      user: this.identity.botUserId,
      bot_id: this.identity.botId,
      app_id: this.identity.appId,
      team: this.identity.teamId,
      ...(extra.reply_broadcast ? { reply_broadcast: true } : {}),
      ...(extra.metadata !== undefined ? { metadata: extra.metadata } : {}),
      deleted: false,
      history: [{ ...content, at: this.now(), via: extra.via }],
    };
    this.channelMessages(channel.id).push(message);
    this.onChange('message_posted', { channel: channel.id, ts });
    return message;
  }

  /** Replaces a message's content; omitted `blocks`/`attachments` keep their previous value, as chat.update does. */
  updateMessage(
    message: StoredMessage | EphemeralMessage,
    update: { text?: string; blocks?: Block[]; attachments?: unknown[] },
    via: MessageVersion['via'],
  ): void {
    if (update.text !== undefined) message.text = update.text;
    if (update.blocks !== undefined) {
      if (update.blocks.length === 0) delete message.blocks;
      else message.blocks = update.blocks;
    }
    if (update.attachments !== undefined) {
      if (update.attachments.length === 0) delete message.attachments;
      else message.attachments = update.attachments;
    }
    if ('user' in message && 'bot_id' in message) {
      message.edited = { user: this.identity.botUserId, ts: this.nextTs() };
    }
    message.history.push({
      text: message.text,
      ...(message.blocks !== undefined ? { blocks: message.blocks } : {}),
      ...(message.attachments !== undefined ? { attachments: message.attachments } : {}),
      at: this.now(),
      via,
    });
    this.onChange('message_updated', { channel: message.channel, ts: 'ts' in message ? message.ts : message.message_ts });
  }

  deleteMessage(message: StoredMessage | EphemeralMessage): void {
    message.deleted = true;
    this.onChange('message_deleted', { channel: message.channel });
  }

  postEphemeral(
    channel: string,
    user: string,
    content: MessageContent,
    extra: { thread_ts?: string; source: EphemeralMessage['source'] },
  ): EphemeralMessage {
    const ephemeral: EphemeralMessage = {
      channel,
      user,
      message_ts: this.nextTs(),
      ...(extra.thread_ts !== undefined ? { thread_ts: extra.thread_ts } : {}),
      text: content.text,
      ...(content.blocks !== undefined ? { blocks: content.blocks } : {}),
      ...(content.attachments !== undefined ? { attachments: content.attachments } : {}),
      source: extra.source,
      deleted: false,
      history: [{ ...content, at: this.now(), via: extra.source }],
    };
    this.ephemeralMessages.push(ephemeral);
    this.onChange('ephemeral_posted', { channel, user });
    return ephemeral;
  }

  findEphemeral(channel: string, messageTs: string): EphemeralMessage | undefined {
    return this.ephemeralMessages.find((e) => e.channel === channel && e.message_ts === messageTs);
  }

  permalink(channel: string, ts: string): string {
    const base = `https://${this.identity.teamDomain}.slack.com/archives/${channel}/p${ts.replace('.', '')}`;
    const message = this.findMessage(channel, ts);
    if (message?.thread_ts !== undefined && message.thread_ts !== ts) {
      return `${base}?thread_ts=${message.thread_ts}&cid=${channel}`;
    }
    return base;
  }
}
