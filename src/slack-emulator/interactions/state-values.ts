import { STATEFUL_ELEMENTS } from '../block-kit/elements.ts';
import { elementsOf } from '../block-kit/validate.ts';
import type { Block, JsonObject } from '../types.ts';

/**
 * What a user typed or picked, by element: a string (text inputs, single selects by option value,
 * dates), a string array (multi selects, checkboxes), or a raw Slack state value (`{type, …}`).
 */
export type UserInput = string | string[] | number | null | { type: string; [key: string]: unknown };

type Option = { text: unknown; value: string };

/** Builds `state.values` for blocks, filling what the user entered over each element's initial value. */
export function buildStateValues(
  blocks: Block[],
  input: Record<string, Record<string, UserInput>> = {},
): Record<string, Record<string, JsonObject>> {
  const values: Record<string, Record<string, JsonObject>> = {};
  for (const block of blocks) {
    const blockId = String(block.block_id);
    for (const element of elementsOf(block)) {
      const type = String(element.type);
      if (!STATEFUL_ELEMENTS.has(type)) continue;
      const actionId = String(element.action_id);
      const given = input[blockId]?.[actionId];
      (values[blockId] ??= {})[actionId] = stateValue(element, given);
    }
  }
  return values;
}

/** Whether a state value is empty, as Slack's client judges a required input. */
export function isEmptyState(state: JsonObject): boolean {
  const { type: _type, ...rest } = state;
  return Object.values(rest).every((v) => v === null || v === '' || (Array.isArray(v) && v.length === 0));
}

function stateValue(element: Record<string, unknown>, given: UserInput | undefined): JsonObject {
  const type = String(element.type);
  if (given !== null && typeof given === 'object' && !Array.isArray(given)) return { ...given, type } as JsonObject;
  const pick = (value: string) => findOption(element, value);
  const list = (v: UserInput | undefined): string[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [String(v)]);
  switch (type) {
    case 'plain_text_input':
    case 'email_text_input':
    case 'url_text_input':
    case 'number_input':
      return { type, value: given !== undefined ? (given === null ? null : String(given)) : ((element.initial_value as string) ?? null) };
    case 'static_select':
    case 'external_select':
    case 'radio_buttons':
      return {
        type,
        selected_option: given !== undefined && given !== null ? pick(String(given)) : ((element.initial_option as JsonObject) ?? null),
      };
    case 'multi_static_select':
    case 'multi_external_select':
    case 'checkboxes':
      return {
        type,
        selected_options: given !== undefined ? list(given).map(pick) : ((element.initial_options as JsonObject[]) ?? []),
      };
    case 'users_select':
      return { type, selected_user: given !== undefined ? given : ((element.initial_user as string) ?? null) } as JsonObject;
    case 'multi_users_select':
      return { type, selected_users: given !== undefined ? list(given) : ((element.initial_users as string[]) ?? []) };
    case 'conversations_select':
      return { type, selected_conversation: given ?? (element.initial_conversation as string) ?? null } as JsonObject;
    case 'multi_conversations_select':
      return { type, selected_conversations: given !== undefined ? list(given) : ((element.initial_conversations as string[]) ?? []) };
    case 'channels_select':
      return { type, selected_channel: given ?? (element.initial_channel as string) ?? null } as JsonObject;
    case 'multi_channels_select':
      return { type, selected_channels: given !== undefined ? list(given) : ((element.initial_channels as string[]) ?? []) };
    case 'datepicker':
      return { type, selected_date: given ?? (element.initial_date as string) ?? null } as JsonObject;
    case 'timepicker':
      return { type, selected_time: given ?? (element.initial_time as string) ?? null } as JsonObject;
    case 'datetimepicker':
      return { type, selected_date_time: given ?? (element.initial_date_time as number) ?? null } as JsonObject;
    case 'rich_text_input': {
      const text = given !== undefined && given !== null ? String(given) : '';
      return {
        type,
        rich_text_value: {
          type: 'rich_text',
          elements: text ? [{ type: 'rich_text_section', elements: [{ type: 'text', text }] }] : [],
        },
      };
    }
    case 'file_input':
      return { type, files: [] };
    default:
      return { type };
  }
}

function findOption(element: Record<string, unknown>, value: string): JsonObject {
  const options: Option[] = [];
  if (Array.isArray(element.options)) options.push(...(element.options as Option[]));
  if (Array.isArray(element.option_groups)) {
    for (const group of element.option_groups as { options?: Option[] }[]) options.push(...(group.options ?? []));
  }
  const type = String(element.type);
  if (type.includes('external')) {
    return { text: { type: 'plain_text', text: value, emoji: true }, value };
  }
  const found = options.find((o) => o.value === value);
  if (!found) {
    const known = options.map((o) => o.value).join(', ');
    throw new Error(`No option with value ${JSON.stringify(value)} in ${type} ${String(element.action_id)} (options: ${known})`);
  }
  return structuredClone(found) as JsonObject;
}
