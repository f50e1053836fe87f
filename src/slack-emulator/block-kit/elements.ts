import {
  type TextContext,
  checkConfirm,
  checkOptionGroups,
  checkOptions,
  checkTextObject,
} from './composition.ts';
import { Issues, checkBoolean, checkString, isObject } from './issues.ts';
import { limits } from './limits.ts';

const SELECTS = [
  'static_select',
  'external_select',
  'users_select',
  'conversations_select',
  'channels_select',
] as const;
const MULTI_SELECTS = SELECTS.map((s) => `multi_${s}`);
const ALL_SELECTS = [...SELECTS, ...MULTI_SELECTS];

/** Which element types each container accepts (Block Kit reference, "Compatible blocks" of each element). */
export const ALLOWED_ELEMENTS = {
  actions: new Set([
    'button', 'checkboxes', 'datepicker', 'datetimepicker', 'overflow', 'radio_buttons', 'timepicker',
    'workflow_button', 'rich_text_input', ...ALL_SELECTS,
  ]),
  accessory: new Set([
    'button', 'checkboxes', 'datepicker', 'image', 'overflow', 'radio_buttons', 'timepicker', 'workflow_button',
    ...ALL_SELECTS,
  ]),
  input: new Set([
    'checkboxes', 'datepicker', 'datetimepicker', 'email_text_input', 'file_input', 'number_input',
    'plain_text_input', 'radio_buttons', 'rich_text_input', 'timepicker', 'url_text_input', ...ALL_SELECTS,
  ]),
};

/** Element types that carry user state (reported in `state.values`). */
export const STATEFUL_ELEMENTS = new Set([...ALLOWED_ELEMENTS.input]);

export interface ElementContext extends TextContext {
  /** action_ids already used in the current block. */
  actionIds: Set<string>;
}

/** Validates one interactive or image element at `pointer`, given which types the container allows. */
export function checkElement(
  issues: Issues,
  ctx: ElementContext,
  element: unknown,
  pointer: string,
  allowed: Set<string>,
): void {
  if (!isObject(element)) {
    issues.add(pointer, 'must provide an object');
    return;
  }
  const type = element.type;
  if (typeof type !== 'string') {
    issues.add(pointer, 'missing required field: type');
    return;
  }
  if (!allowed.has(type)) {
    issues.add(pointer, `failed to match all allowed schemas (element type ${JSON.stringify(type)} is not allowed here)`);
    return;
  }
  if (type !== 'image') checkActionId(issues, ctx, element, pointer);
  const placeholder = () =>
    checkTextObject(issues, ctx, element, 'placeholder', pointer, { max: limits.select.placeholder.max_length, plainOnly: true });

  switch (type) {
    case 'button':
      return checkButton(issues, ctx, element, pointer);
    case 'workflow_button':
      checkTextObject(issues, ctx, element, 'text', pointer, { max: limits.button.text.max_length, plainOnly: true, required: true });
      if (!isObject(element.workflow)) issues.add(pointer, 'missing required field: workflow');
      return;
    case 'image':
      return checkImageFields(issues, element, pointer, limits.image);
    case 'overflow':
      checkConfirm(issues, ctx, element, pointer);
      return checkOptions(issues, ctx, element, pointer, {
        min: limits.overflow.options.min_items,
        max: limits.overflow.options.max_items,
        required: true,
        plainOnly: true,
        allowUrl: true,
      });
    case 'checkboxes':
    case 'radio_buttons': {
      const rule = type === 'checkboxes' ? limits.checkboxes : limits.radio_buttons;
      checkConfirm(issues, ctx, element, pointer);
      return checkOptions(issues, ctx, element, pointer, {
        min: rule.options.min_items,
        max: rule.options.max_items,
        required: true,
        plainOnly: false,
      });
    }
    case 'plain_text_input':
      return checkPlainTextInput(issues, ctx, element, pointer);
    case 'number_input':
      placeholder();
      if (typeof element.is_decimal_allowed !== 'boolean') issues.add(pointer, 'missing required field: is_decimal_allowed');
      return;
    case 'datepicker':
      placeholder();
      checkConfirm(issues, ctx, element, pointer);
      if (element.initial_date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(String(element.initial_date))) {
        issues.add(`${pointer}/initial_date`, 'must be a date in the format YYYY-MM-DD');
      }
      return;
    case 'timepicker':
      placeholder();
      checkConfirm(issues, ctx, element, pointer);
      if (element.initial_time !== undefined && !/^\d{2}:\d{2}$/.test(String(element.initial_time))) {
        issues.add(`${pointer}/initial_time`, 'must be a time in the format HH:mm');
      }
      return;
    case 'static_select':
    case 'multi_static_select':
      placeholder();
      checkConfirm(issues, ctx, element, pointer);
      if (element.options === undefined && element.option_groups === undefined) {
        issues.add(pointer, 'missing required field: options');
      }
      if (element.options !== undefined && element.option_groups !== undefined) {
        issues.add(pointer, 'options and option_groups cannot both be provided');
      }
      checkOptions(issues, ctx, element, pointer, { max: limits.select.options.max_items, plainOnly: true });
      return checkOptionGroups(issues, ctx, element, pointer);
    default:
      if (ALL_SELECTS.includes(type)) {
        placeholder();
        checkConfirm(issues, ctx, element, pointer);
      } else {
        placeholder();
      }
  }
}

function checkActionId(issues: Issues, ctx: ElementContext, element: Record<string, unknown>, pointer: string): void {
  const actionId = checkString(issues, element, 'action_id', pointer, { max: limits.action_id.max_length, min: 1 });
  if (actionId === undefined) return;
  if (ctx.actionIds.has(actionId)) {
    issues.add(`${pointer}/action_id`, `action_id ${JSON.stringify(actionId)} is already used in this block`);
  }
  ctx.actionIds.add(actionId);
}

function checkButton(issues: Issues, ctx: ElementContext, element: Record<string, unknown>, pointer: string): void {
  const b = limits.button;
  checkTextObject(issues, ctx, element, 'text', pointer, { max: b.text.max_length, plainOnly: true, required: true });
  checkString(issues, element, 'url', pointer, { max: b.url.max_length });
  checkString(issues, element, 'value', pointer, { max: b.value.max_length });
  checkString(issues, element, 'accessibility_label', pointer, { max: b.accessibility_label.max_length });
  if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') {
    issues.add(`${pointer}/style`, 'must be one of: primary, danger');
  }
  checkConfirm(issues, ctx, element, pointer);
}

function checkPlainTextInput(issues: Issues, ctx: ElementContext, element: Record<string, unknown>, pointer: string): void {
  const p = limits.plain_text_input;
  checkTextObject(issues, ctx, element, 'placeholder', pointer, { max: p.placeholder.max_length, plainOnly: true });
  checkBoolean(issues, element, 'multiline', pointer);
  checkString(issues, element, 'initial_value', pointer);
  for (const [field, rule] of [['min_length', p.min_length], ['max_length', p.max_length]] as const) {
    const value = element[field];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value)) issues.add(`${pointer}/${field}`, 'must provide an integer');
    else if (value < rule.min || value > rule.max) {
      issues.add(`${pointer}/${field}`, `must be between ${rule.min} and ${rule.max}`);
    }
  }
}

/** image_url/slack_file + alt_text, shared by the image block and the image element. */
export function checkImageFields(
  issues: Issues,
  owner: Record<string, unknown>,
  pointer: string,
  rule: { image_url: { max_length: number }; alt_text: { max_length: number } },
): void {
  if (owner.image_url === undefined && owner.slack_file === undefined) {
    issues.add(pointer, 'missing required field: image_url');
  }
  checkString(issues, owner, 'image_url', pointer, { max: rule.image_url.max_length });
  checkString(issues, owner, 'alt_text', pointer, { max: rule.alt_text.max_length, required: true });
}
