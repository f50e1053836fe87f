import { renderMessage } from '../render.ts';
import type { JsonObject } from '../types.ts';
import { type MethodContext, bool, fail, str } from './context.ts';
import { readMessageArgs } from './message-args.ts';

export function chatPostMessage({ args, ws }: MethodContext): JsonObject {
  const channelRef = str(args.channel);
  if (!channelRef) return fail('channel_not_found');
  const channel = ws.resolveChannel(channelRef, { allowName: true, allowUser: true });
  if (!channel) return fail('channel_not_found');
  if (!channel.is_im && channel.is_member === false) return fail('not_in_channel');
  const content = readMessageArgs(args, true);
  if (!content.ok) return content.response;
  const { text, blocks, attachments } = content.value;
  const threadTs = str(args.thread_ts) || undefined;
  const message = ws.postMessage(
    channel,
    { text: text ?? '', blocks, attachments },
    {
      thread_ts: threadTs,
      reply_broadcast: threadTs !== undefined && bool(args.reply_broadcast),
      metadata: parseMetadata(args.metadata),
      via: 'chat.postMessage',
    },
  );
  return { ok: true, channel: channel.id, ts: message.ts, message: renderMessage(message, ws.identity) };
}

export function chatUpdate({ args, ws }: MethodContext): JsonObject {
  const channelRef = str(args.channel);
  const channel = channelRef ? ws.resolveChannel(channelRef) : undefined;
  if (!channel) return fail('channel_not_found');
  const ts = str(args.ts);
  const message = ts ? ws.findMessage(channel.id, ts) : undefined;
  if (!message || message.deleted) return fail('message_not_found');
  if (message.user !== ws.identity.botUserId) return fail('cant_update_message');
  const content = readMessageArgs(args, true);
  if (!content.ok) return content.response;
  const { text, blocks, attachments } = content.value;
  // Omitted blocks/attachments are kept (chat.update docs); omitted text becomes empty.
  ws.updateMessage(message, { text: text ?? '', blocks, attachments }, 'chat.update');
  const rendered = renderMessage(message, ws.identity);
  return { ok: true, channel: channel.id, ts: message.ts, text: message.text, message: rendered };
}

export function chatPostEphemeral({ args, ws }: MethodContext): JsonObject {
  const channelRef = str(args.channel);
  const channel = channelRef ? ws.resolveChannel(channelRef, { allowName: true }) : undefined;
  if (!channel) return fail('channel_not_found');
  const userId = str(args.user);
  const user = userId ? ws.users.get(userId) : undefined;
  if (!user) return fail('user_not_found');
  if (!channel.is_im && channel.is_member === false) return fail('not_in_channel');
  if (user.deleted || !ws.isMember(channel, user.id)) return fail('user_not_in_channel');
  const content = readMessageArgs(args, true);
  if (!content.ok) return content.response;
  const { text, blocks, attachments } = content.value;
  const ephemeral = ws.postEphemeral(
    channel.id,
    user.id,
    { text: text ?? '', blocks, attachments },
    { thread_ts: str(args.thread_ts) || undefined, source: 'chat.postEphemeral' },
  );
  return { ok: true, message_ts: ephemeral.message_ts };
}

export function chatGetPermalink({ args, ws }: MethodContext): JsonObject {
  const channelRef = str(args.channel);
  const channel = channelRef ? ws.resolveChannel(channelRef) : undefined;
  if (!channel) return fail('channel_not_found');
  const ts = str(args.message_ts);
  const message = ts ? ws.findMessage(channel.id, ts) : undefined;
  if (!message || message.deleted) return fail('message_not_found');
  return { ok: true, channel: channel.id, permalink: ws.permalink(channel.id, message.ts) };
}

function parseMetadata(raw: unknown): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
