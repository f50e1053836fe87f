import { randomBytes } from 'node:crypto';
import type { Block } from '../types.ts';
import { type BlocksContext, type Surface, checkBlocks } from './blocks.ts';
import { checkTextObject } from './composition.ts';
import { Issues, checkArray, checkBoolean, checkString, isObject } from './issues.ts';
import { limits } from './limits.ts';

export type Validated<T> =
  | { ok: true; value: T }
  | { ok: false; error: string; messages?: string[] };

const VIEW_MAX_BYTES = 250 * 1024;

/** Parses a JSON-string-or-value argument the way Slack reads form fields (`blocks`, `view`, `attachments`). */
export function parseJsonArg(raw: unknown): { ok: true; value: unknown } | { ok: false } {
  if (typeof raw !== 'string') return { ok: true, value: raw };
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch {
    return { ok: false };
  }
}

/**
 * Validates a message's `blocks` argument: `invalid_blocks_format` when it is not a JSON array,
 * `invalid_blocks` (with Slack-style `[ERROR] … [json-pointer:…]` messages) for schema and limit
 * violations, `msg_blocks_too_long` when all text together passes the ~12k characters Slack accepts.
 */
export function validateMessageBlocks(raw: unknown): Validated<Block[] | undefined> {
  if (raw === undefined || raw === null || raw === '') return { ok: true, value: undefined };
  const parsed = parseJsonArg(raw);
  if (!parsed.ok || !Array.isArray(parsed.value)) return { ok: false, error: 'invalid_blocks_format' };
  const blocks = parsed.value;
  const ctx = newContext('message');
  if (blocks.length > limits.message.blocks.max_items) {
    ctx.issues.add('/blocks', `no more than ${limits.message.blocks.max_items} items allowed`);
  }
  checkBlocks(ctx, blocks, '/blocks');
  if (!ctx.issues.empty) return { ok: false, error: 'invalid_blocks', messages: ctx.issues.messages };
  if (ctx.totalText > limits.markdown.total_text.max_length) return { ok: false, error: 'msg_blocks_too_long' };
  return { ok: true, value: fillGeneratedIds(blocks as Block[]) };
}

/** Validates a `view` argument for views.open/push/update; failures are `invalid_arguments` as Slack answers. */
export function validateView(raw: unknown): Validated<Record<string, unknown>> {
  const parsed = parseJsonArg(raw);
  if (!parsed.ok) return { ok: false, error: 'invalid_arguments', messages: ['[ERROR] failed to parse view JSON [json-pointer:/view]'] };
  const view = parsed.value;
  if (!isObject(view)) {
    return { ok: false, error: 'invalid_arguments', messages: ['[ERROR] missing required field: view [json-pointer:/]'] };
  }
  if (Buffer.byteLength(JSON.stringify(view)) > VIEW_MAX_BYTES) return { ok: false, error: 'view_too_large' };
  const surface: Surface = view.type === 'home' ? 'home' : 'modal';
  const ctx = newContext(surface);
  const issues = ctx.issues;
  const p = '/view';
  const v = limits.view;
  if (view.type !== 'modal' && view.type !== 'home') issues.add(`${p}/type`, 'must be one of: modal, home');
  const textCtx = { totalText: 0 };
  checkTextObject(issues, textCtx, view, 'title', p, { max: v.title.max_length, plainOnly: true, required: view.type === 'modal' });
  checkTextObject(issues, textCtx, view, 'close', p, { max: v.close.max_length, plainOnly: true });
  checkTextObject(issues, textCtx, view, 'submit', p, { max: v.submit.max_length, plainOnly: true });
  checkString(issues, view, 'private_metadata', p, { max: v.private_metadata.max_length });
  checkString(issues, view, 'callback_id', p, { max: v.callback_id.max_length });
  checkString(issues, view, 'external_id', p, { max: v.external_id.max_length });
  checkBoolean(issues, view, 'clear_on_close', p);
  checkBoolean(issues, view, 'notify_on_close', p);
  const blocks = checkArray(issues, view, 'blocks', p, { required: true, min: v.blocks.min_items, max: v.blocks.max_items });
  if (blocks) {
    checkBlocks(ctx, blocks, `${p}/blocks`);
    const hasInput = blocks.some((b) => isObject(b) && b.type === 'input');
    if (view.type === 'modal' && hasInput && view.submit === undefined) {
      issues.add(p, 'missing required field: submit (required when the view has input blocks)');
    }
  }
  if (!issues.empty) return { ok: false, error: 'invalid_arguments', messages: issues.messages };
  return { ok: true, value: { ...view, blocks: fillGeneratedIds((blocks ?? []) as Block[]) } };
}

function newContext(surface: Surface): BlocksContext {
  return { issues: new Issues(), totalText: 0, blockIds: new Set(), surface };
}

function generatedId(): string {
  return randomBytes(4).toString('base64url').slice(0, 5);
}

/** Slack stores a generated block_id on every block and an action_id on every interactive element that lacks one. */
export function fillGeneratedIds(blocks: Block[]): Block[] {
  const copy = structuredClone(blocks);
  for (const block of copy) {
    if (block.block_id === undefined) block.block_id = generatedId();
    for (const element of elementsOf(block)) {
      if (element.type !== 'image' && element.action_id === undefined) element.action_id = generatedId();
    }
  }
  return copy;
}

/** Interactive elements of a block: actions elements, a section accessory or an input element. */
export function elementsOf(block: Block): Record<string, unknown>[] {
  const found: unknown[] = [];
  if (block.type === 'actions' && Array.isArray(block.elements)) found.push(...block.elements);
  if (block.type === 'section' && block.accessory !== undefined) found.push(block.accessory);
  if (block.type === 'input' && block.element !== undefined) found.push(block.element);
  return found.filter(isObject);
}
