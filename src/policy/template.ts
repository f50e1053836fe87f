import { PARAMETER_NAME, compileParameterPath, type ParameterPath } from './parameter-path.ts';
import type { EvalScope } from './scope.ts';

/** A reasoning template split once at load time into literal text and `${parameter}` slots. */
export type TemplatePart = string | ParameterPath;

export type TemplateParse = { ok: true; parts: TemplatePart[]; names: string[] } | { ok: false; message: string; offset: number };

/** Longest rendering of one value: reasoning ends up on Slack cards and in audit rows. */
const MAX_VALUE_LENGTH = 200;

export const MISSING_VALUE_TEXT = '[missing]';

export function parseTemplate(text: string): TemplateParse {
  const parts: TemplatePart[] = [];
  const names: string[] = [];
  let cursor = 0;
  while (cursor < text.length) {
    const open = text.indexOf('${', cursor);
    if (open === -1) break;
    const close = text.indexOf('}', open + 2);
    if (close === -1) return { ok: false, message: 'unterminated "${" in reasoning', offset: open };
    const name = text.slice(open + 2, close).trim();
    if (name === '') return { ok: false, message: 'empty "${}" in reasoning: name a parameter, e.g. ${target_count}', offset: open };
    if (!PARAMETER_NAME.test(name)) {
      return { ok: false, message: `"\${${name}}" is not a parameter name (letters, digits, "_", dots between parts)`, offset: open };
    }
    if (open > cursor) parts.push(text.slice(cursor, open));
    parts.push(compileParameterPath(name));
    names.push(name);
    cursor = close + 1;
  }
  if (cursor < text.length) parts.push(text.slice(cursor));
  return { ok: true, parts, names };
}

/** Values render as plain text: `40`, not `"40"`; objects as compact JSON; long values are cut. */
export function renderValue(value: unknown): string {
  let text: string;
  if (value === undefined) return MISSING_VALUE_TEXT;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean' || value === null) text = String(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH)}…` : text;
}

/** Fills the slots; `action_class` is built in and cannot be shadowed by agent-supplied context. */
export function renderTemplate(parts: readonly TemplatePart[], scope: EvalScope): string {
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') out += part;
    else if (part.name === 'action_class') out += renderValue(scope.input.action_class);
    else out += renderValue(scope.lookup(part));
  }
  return out;
}
