import { z } from 'zod';
import type { ExecutorConfig, FileConfig } from '../config/file-config';
import { ACTION_CLASS_RE } from '../lib/action-class-glob';
import { contractFor } from './lookup';

/**
 * A tool contract's compensating action (docs/policy.md, "Rollback"): the action class that undoes it and
 * its params, built from the original's `params` and the executor's `result` with `{{params.x}}` /
 * `{{result.y}}` placeholders. A value that is exactly one placeholder takes the referenced value as it is
 * (number, object…); placeholders inside a longer string are replaced by their text.
 */
export const compensationSchema = z.strictObject({
  action_class: z.string().regex(ACTION_CLASS_RE, 'must be an action class like payments.refund.reverse'),
  params: z.record(z.string(), z.unknown()).default({}),
  justification: z.string().max(1000).optional(),
});
export type Compensation = z.infer<typeof compensationSchema>;

const PLACEHOLDER = /\{\{\s*((?:params|result)(?:\.[A-Za-z0-9_]+)*)\s*\}\}/g;
const WHOLE = /^\{\{\s*((?:params|result)(?:\.[A-Za-z0-9_]+)*)\s*\}\}$/;

/** Why a contract's `compensate` is unusable (checked at start-up), or null. */
export function compensationProblem(raw: unknown): string | null {
  if (raw === undefined) return null;
  const parsed = compensationSchema.safeParse(raw);
  if (!parsed.success) return parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  const bad = JSON.stringify(parsed.data.params).match(/\{\{[^}]*\}\}/g)?.filter((p) => !new RegExp(PLACEHOLDER.source).test(p));
  return bad?.length ? `placeholders must be {{params.<field>}} or {{result.<field>}} (got ${bad.join(', ')})` : null;
}

/** The compensating action a contract names for an action class, or null when it names none. */
export function compensationFor(config: Pick<FileConfig, 'executors'>, executorName: string | null, actionClass: string): Compensation | null {
  const executor: ExecutorConfig | undefined = config.executors.find((e) => e.name === executorName);
  if (!executor) return null;
  const parsed = compensationSchema.safeParse(contractFor(executor, actionClass)?.compensate);
  return parsed.success ? parsed.data : null;
}

function lookup(sources: { params: unknown; result: unknown }, path: string): unknown {
  const [root, ...rest] = path.split('.');
  let v: unknown = root === 'params' ? sources.params : sources.result;
  for (const key of rest) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

export class CompensationError extends Error {}

/** Fills the template from the original action; a placeholder whose value is missing is an error naming it. */
export function buildCompensation(c: Compensation, sources: { params: Record<string, unknown>; result: unknown }): Record<string, unknown> {
  const missing = new Set<string>();
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const whole = WHOLE.exec(v);
      if (whole) {
        const found = lookup(sources, whole[1]!);
        if (found === undefined) missing.add(whole[1]!);
        return found;
      }
      return v.replace(PLACEHOLDER, (_m, path: string) => {
        const found = lookup(sources, path);
        if (found === undefined) missing.add(path);
        return typeof found === 'string' ? found : JSON.stringify(found ?? null);
      });
    }
    if (Array.isArray(v)) return v.map(fill);
    if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
    return v;
  };
  const params = fill(c.params) as Record<string, unknown>;
  if (missing.size) throw new CompensationError(`the rollback needs ${[...missing].join(', ')}, which the original action does not have`);
  return params;
}
