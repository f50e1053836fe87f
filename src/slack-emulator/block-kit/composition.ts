import { Issues, checkArray, checkString, isObject } from './issues.ts';
import { limits } from './limits.ts';

export interface TextContext {
  /** Sum of every text object's characters; Slack refuses messages past ~12k with msg_blocks_too_long. */
  totalText: number;
}

interface TextRules {
  max: number;
  plainOnly?: boolean;
  required?: boolean;
}

/** Validates a text object (`{type: plain_text|mrkdwn, text}`) found at `owner[field]`. */
export function checkTextObject(
  issues: Issues,
  ctx: TextContext,
  owner: Record<string, unknown>,
  field: string,
  pointer: string,
  rules: TextRules,
): void {
  const value = owner[field];
  if (value === undefined || value === null) {
    if (rules.required) issues.add(pointer, `missing required field: ${field}`);
    return;
  }
  checkTextValue(issues, ctx, value, `${pointer}/${field}`, rules);
}

export function checkTextValue(issues: Issues, ctx: TextContext, value: unknown, at: string, rules: TextRules): void {
  if (!isObject(value)) {
    issues.add(at, 'must provide an object');
    return;
  }
  const type = value.type;
  if (type === undefined) issues.add(at, 'missing required field: type');
  else if (type !== 'plain_text' && type !== 'mrkdwn') issues.add(`${at}/type`, 'must be one of: plain_text, mrkdwn');
  else if (rules.plainOnly && type !== 'plain_text') issues.add(`${at}/type`, 'must be plain_text');
  if (type === 'mrkdwn' && value.emoji !== undefined) issues.add(`${at}/emoji`, 'emoji is only allowed on plain_text');
  const text = checkString(issues, value, 'text', at, {
    required: true,
    min: limits.text.min_length,
    max: rules.max,
  });
  if (text !== undefined) ctx.totalText += text.length;
}

/** Validates a confirmation dialog object. */
export function checkConfirm(issues: Issues, ctx: TextContext, owner: Record<string, unknown>, pointer: string): void {
  const confirm = owner.confirm;
  if (confirm === undefined) return;
  const at = `${pointer}/confirm`;
  if (!isObject(confirm)) {
    issues.add(at, 'must provide an object');
    return;
  }
  const c = limits.confirmation;
  checkTextObject(issues, ctx, confirm, 'title', at, { max: c.title.max_length, plainOnly: true, required: true });
  checkTextObject(issues, ctx, confirm, 'text', at, { max: c.text.max_length, required: true });
  checkTextObject(issues, ctx, confirm, 'confirm', at, { max: c.confirm.max_length, plainOnly: true, required: true });
  checkTextObject(issues, ctx, confirm, 'deny', at, { max: c.deny.max_length, plainOnly: true, required: true });
  if (confirm.style !== undefined && confirm.style !== 'primary' && confirm.style !== 'danger') {
    issues.add(`${at}/style`, 'must be one of: primary, danger');
  }
}

/** Validates one option object; `plainOnly` for selects and overflow menus, mrkdwn allowed for checkboxes/radios. */
export function checkOption(
  issues: Issues,
  ctx: TextContext,
  option: unknown,
  at: string,
  opts: { plainOnly: boolean; allowUrl?: boolean },
): void {
  if (!isObject(option)) {
    issues.add(at, 'must provide an object');
    return;
  }
  const o = limits.option;
  checkTextObject(issues, ctx, option, 'text', at, { max: o.text.max_length, plainOnly: opts.plainOnly, required: true });
  checkString(issues, option, 'value', at, { max: o.value.max_length, required: true });
  checkTextObject(issues, ctx, option, 'description', at, { max: o.description.max_length, plainOnly: opts.plainOnly });
  if (option.url !== undefined) {
    if (!opts.allowUrl) issues.add(`${at}/url`, 'url is only allowed on overflow menu options');
    else checkString(issues, option, 'url', at, { max: o.url.max_length });
  }
}

export function checkOptions(
  issues: Issues,
  ctx: TextContext,
  owner: Record<string, unknown>,
  pointer: string,
  opts: { min?: number; max?: number; required?: boolean; plainOnly: boolean; allowUrl?: boolean },
): void {
  const list = checkArray(issues, owner, 'options', pointer, opts);
  list?.forEach((option, i) => checkOption(issues, ctx, option, `${pointer}/options/${i}`, opts));
}

export function checkOptionGroups(issues: Issues, ctx: TextContext, owner: Record<string, unknown>, pointer: string): void {
  const groups = checkArray(issues, owner, 'option_groups', pointer, { max: limits.select.option_groups.max_items });
  groups?.forEach((group, i) => {
    const at = `${pointer}/option_groups/${i}`;
    if (!isObject(group)) {
      issues.add(at, 'must provide an object');
      return;
    }
    const g = limits.option_group;
    checkTextObject(issues, ctx, group, 'label', at, { max: g.label.max_length, plainOnly: true, required: true });
    checkOptions(issues, ctx, group, at, {
      min: g.options.min_items,
      max: g.options.max_items,
      required: true,
      plainOnly: true,
    });
  });
}
