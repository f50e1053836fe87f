import { parseJsonArg, validateMessageBlocks } from '../block-kit/validate.ts';
import { limits } from '../block-kit/limits.ts';
import type { Block, JsonObject } from '../types.ts';
import { fail, failWithMessages, str } from './context.ts';

/** Slack truncates message text above 40,000 characters. */
export const MESSAGE_TEXT_MAX = 40_000;

export interface MessageArgs {
  text: string | undefined;
  blocks: Block[] | undefined;
  attachments: unknown[] | undefined;
}

/**
 * Reads `text`, `blocks` and `attachments` as chat.postMessage/update/postEphemeral and response_url do,
 * answering Slack's error when they are malformed. `requireContent` gives `no_text` when all three are absent.
 */
export function readMessageArgs(
  args: Record<string, unknown>,
  requireContent: boolean,
): { ok: true; value: MessageArgs } | { ok: false; response: JsonObject } {
  const blocks = validateMessageBlocks(args.blocks);
  if (!blocks.ok) return { ok: false, response: failWithMessages(blocks.error, blocks.messages) };
  let attachments: unknown[] | undefined;
  if (args.attachments !== undefined && args.attachments !== '') {
    const parsed = parseJsonArg(args.attachments);
    if (!parsed.ok || !Array.isArray(parsed.value)) return { ok: false, response: fail('invalid_attachments') };
    if (parsed.value.length > limits.message.attachments.max_items) return { ok: false, response: fail('too_many_attachments') };
    attachments = parsed.value;
  }
  let text = str(args.text);
  if (text !== undefined && text.length > MESSAGE_TEXT_MAX) text = text.slice(0, MESSAGE_TEXT_MAX);
  const hasText = text !== undefined && text !== '';
  if (requireContent && !hasText && (blocks.value === undefined || blocks.value.length === 0) && !attachments?.length) {
    return { ok: false, response: fail('no_text') };
  }
  return { ok: true, value: { text, blocks: blocks.value, attachments } };
}
