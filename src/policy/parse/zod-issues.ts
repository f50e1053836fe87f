import type { z } from 'zod';
import { isPolicyErrorCode, type PolicyError, type PolicyErrorCode } from '../errors.ts';
import { conditionTypes } from '../schema/conditions.ts';
import type { SourceMap } from './source-map.ts';

/** Turns zod's issues into policy errors that point at the offending YAML. */
export function issuesToErrors(file: string, issues: readonly z.core.$ZodIssue[], map: SourceMap): PolicyError[] {
  const errors: PolicyError[] = [];
  for (const issue of issues) {
    const path = issue.path;
    const where = describePath(path);
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const position = map.keyPositionOf(path, key);
        const message = `${where ? `${where}: ` : ''}unknown key "${key}"${hint(path, key)}`;
        errors.push({ file, ...position, message, code: 'unknown_key' });
      }
      continue;
    }
    const { found } = map.nodeAt(path);
    const position = map.positionOf(path);
    const last = path[path.length - 1];
    if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator === 'type') {
      const message = found
        ? `${where}: unknown condition type; known types are ${conditionTypes.join(', ')}`
        : `${describePath(path.slice(0, -1))}: a condition needs a type (${conditionTypes.join(', ')})`;
      errors.push({ file, ...position, message, code: found ? 'unknown_condition_type' : 'missing_key' });
      continue;
    }
    if (issue.code === 'invalid_type' && !found) {
      const parent = describePath(path.slice(0, -1));
      const isVia = last === 'via' && path[path.length - 2] === 'escalation';
      const message = `${parent ? `${parent}: ` : ''}missing required key "${String(last)}"`;
      errors.push({ file, ...position, message, code: isVia ? 'missing_via' : 'missing_key' });
      continue;
    }
    const custom = issue.code === 'custom' ? (issue.params as { code?: unknown } | undefined)?.code : undefined;
    const code: PolicyErrorCode = isPolicyErrorCode(custom) ? custom : 'invalid_value';
    errors.push({ file, ...position, message: `${where ? `${where}: ` : ''}${cleanMessage(issue.message)}`, code });
  }
  return errors;
}

/** `rules[3].conditions[0].threshold`, the way a reader would point at it. */
export function describePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out ? '.' : ''}${String(key)}`;
  return out;
}

function cleanMessage(message: string): string {
  return message.replace(/^Invalid input: /, '');
}

function hint(path: readonly PropertyKey[], key: string): string {
  if (path.length === 0) return ' (allowed: name, version, description, doctrinal_basis, owner, tags, metadata, rules; put anything else under metadata)';
  if (key === 'action_class' && path[path.length - 1] !== 'applies_to') return ' (action_class belongs under applies_to)';
  return '';
}
