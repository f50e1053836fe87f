import type { BlockAction } from '@slack/bolt';

/** Where a click happened: the channel to answer in (ephemeral) and the message clicked. */
export function clickedWhere(body: BlockAction): { channel: string | null; messageTs: string | null } {
  return {
    channel: body.channel?.id ?? body.container?.channel_id ?? null,
    messageTs: body.container?.message_ts ?? body.message?.ts ?? null,
  };
}
