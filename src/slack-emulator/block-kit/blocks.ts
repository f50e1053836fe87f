import { checkTextObject, checkTextValue } from './composition.ts';
import { ALLOWED_ELEMENTS, type ElementContext, checkElement, checkImageFields } from './elements.ts';
import { Issues, checkArray, checkBoolean, checkString, isObject } from './issues.ts';
import { limits } from './limits.ts';

export type Surface = 'message' | 'modal' | 'home';

const COMMON_BLOCKS = new Set(['section', 'divider', 'image', 'actions', 'context', 'header', 'input', 'rich_text', 'video', 'table']);
const MESSAGE_ONLY_BLOCKS = new Set(['markdown', 'file']);

export interface BlocksContext {
  issues: Issues;
  totalText: number;
  blockIds: Set<string>;
  surface: Surface;
}

/** Validates a block list; pointer is `/blocks` for messages and `/view/blocks` for views. */
export function checkBlocks(ctx: BlocksContext, blocks: unknown[], pointer: string): void {
  blocks.forEach((block, i) => checkBlock(ctx, block, `${pointer}/${i}`));
}

function checkBlock(ctx: BlocksContext, block: unknown, pointer: string): void {
  const { issues } = ctx;
  if (!isObject(block)) {
    issues.add(pointer, 'must provide an object');
    return;
  }
  const type = block.type;
  if (typeof type !== 'string') {
    issues.add(pointer, 'missing required field: type');
    return;
  }
  const known = COMMON_BLOCKS.has(type) || (ctx.surface === 'message' && MESSAGE_ONLY_BLOCKS.has(type));
  if (!known) {
    issues.add(pointer, `failed to match all allowed schemas (unsupported block type ${JSON.stringify(type)})`);
    return;
  }
  const blockId = checkString(issues, block, 'block_id', pointer, { max: limits.block_id.max_length, min: 1 });
  if (blockId !== undefined) {
    if (ctx.blockIds.has(blockId)) issues.add(`${pointer}/block_id`, `block_id ${JSON.stringify(blockId)} is already used`);
    ctx.blockIds.add(blockId);
  }
  const el: ElementContext = { actionIds: new Set(), totalText: 0 };
  checkBlockBody(ctx, el, block, type, pointer);
  ctx.totalText += el.totalText;
}

function checkBlockBody(ctx: BlocksContext, el: ElementContext, block: Record<string, unknown>, type: string, pointer: string): void {
  const { issues } = ctx;
  switch (type) {
    case 'section': {
      const s = limits.section;
      if (block.text === undefined && block.fields === undefined) issues.add(pointer, 'missing required field: text');
      checkTextObject(issues, el, block, 'text', pointer, { max: s.text.max_length });
      const fields = checkArray(issues, block, 'fields', pointer, { max: s.fields.max_items, min: 1 });
      fields?.forEach((field, i) => checkTextValue(issues, el, field, `${pointer}/fields/${i}`, { max: s.fields.item_max_length }));
      if (block.accessory !== undefined) checkElement(issues, el, block.accessory, `${pointer}/accessory`, ALLOWED_ELEMENTS.accessory);
      checkBoolean(issues, block, 'expand', pointer);
      return;
    }
    case 'header':
      checkTextObject(issues, el, block, 'text', pointer, { max: limits.header.text.max_length, plainOnly: true, required: true });
      return;
    case 'divider':
      return;
    case 'image':
      checkImageFields(issues, block, pointer, limits.image);
      checkTextObject(issues, el, block, 'title', pointer, { max: limits.image.title.max_length, plainOnly: true });
      return;
    case 'actions': {
      const elements = checkArray(issues, block, 'elements', pointer, {
        required: true,
        min: 1,
        max: limits.actions.elements.max_items,
      });
      elements?.forEach((e, i) => checkElement(issues, el, e, `${pointer}/elements/${i}`, ALLOWED_ELEMENTS.actions));
      return;
    }
    case 'context': {
      const elements = checkArray(issues, block, 'elements', pointer, {
        required: true,
        min: 1,
        max: limits.context.elements.max_items,
      });
      elements?.forEach((e, i) => {
        const at = `${pointer}/elements/${i}`;
        if (isObject(e) && e.type === 'image') checkImageFields(issues, e, at, limits.image);
        else checkTextValue(issues, el, e, at, { max: limits.text.max_length });
      });
      return;
    }
    case 'input': {
      const i = limits.input;
      checkTextObject(issues, el, block, 'label', pointer, { max: i.label.max_length, plainOnly: true, required: true });
      checkTextObject(issues, el, block, 'hint', pointer, { max: i.hint.max_length, plainOnly: true });
      checkBoolean(issues, block, 'optional', pointer);
      checkBoolean(issues, block, 'dispatch_action', pointer);
      if (block.element === undefined) issues.add(pointer, 'missing required field: element');
      else checkElement(issues, el, block.element, `${pointer}/element`, ALLOWED_ELEMENTS.input);
      return;
    }
    case 'markdown': {
      const text = checkString(issues, block, 'text', pointer, {
        required: true,
        min: limits.markdown.text.min_length,
        max: limits.markdown.text.max_length,
      });
      if (text !== undefined) el.totalText += text.length;
      return;
    }
    case 'rich_text':
      checkArray(issues, block, 'elements', pointer, { required: true });
      return;
    case 'table':
      checkArray(issues, block, 'rows', pointer, { required: true, min: 1 });
      return;
    case 'file':
      checkString(issues, block, 'external_id', pointer, { required: true });
      checkString(issues, block, 'source', pointer, { required: true });
      return;
    case 'video':
      for (const field of ['alt_text', 'thumbnail_url', 'video_url']) checkString(issues, block, field, pointer, { required: true });
      checkTextObject(issues, el, block, 'title', pointer, { max: 200, plainOnly: true, required: true });
      return;
  }
}
