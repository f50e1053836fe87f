import { canonicalHash } from '../lib/canonical-json';

/** The rule's variable fields (paths in params, without `params.`) and their bounds, as the policy normalised them. */
export type VariableSpec = Record<string, { min?: number; max?: number; max_length?: number; in?: Array<string | number | boolean> }>;

function split(path: string): string[] {
  return path.split('.');
}

function valueAt(params: Record<string, unknown>, path: string): unknown {
  let v: unknown = params;
  for (const key of split(path)) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** A deep copy of params with every variable field taken out: the part a similar request must repeat exactly. */
function withoutVariable(params: Record<string, unknown>, variable: VariableSpec): Record<string, unknown> {
  const copy = structuredClone(params);
  for (const path of Object.keys(variable)) {
    const keys = split(path);
    let v: unknown = copy;
    for (const key of keys.slice(0, -1)) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) break;
      v = (v as Record<string, unknown>)[key];
    }
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) delete (v as Record<string, unknown>)[keys[keys.length - 1]!];
  }
  return copy;
}

/**
 * What "similar" keeps fixed, as one hash: the action class, the executor and the params without their variable
 * fields. The agent's `context` is its claim and is left out (it never decides anything).
 */
export function fixedPayloadHash(p: { actionClass: string; executor: string; params: Record<string, unknown> }, variable: VariableSpec): string {
  return canonicalHash({ action_class: p.actionClass, executor: p.executor, fixed_params: withoutVariable(p.params, variable) });
}

/** Why a variable field's value is outside its bounds (empty when every field is within them). */
export function boundsViolations(params: Record<string, unknown>, variable: VariableSpec): string[] {
  const out: string[] = [];
  for (const [path, b] of Object.entries(variable)) {
    const v = valueAt(params, path);
    if (v === undefined) continue; // absent in both (the fixed hash compares presence of everything else)
    if (b.in && !b.in.some((allowed) => allowed === v)) out.push(`${path} must be one of ${JSON.stringify(b.in)}`);
    if (b.min !== undefined || b.max !== undefined) {
      if (typeof v !== 'number' || !Number.isFinite(v)) out.push(`${path} must be a number`);
      else {
        if (b.min !== undefined && v < b.min) out.push(`${path} must be at least ${b.min}`);
        if (b.max !== undefined && v > b.max) out.push(`${path} must be at most ${b.max}`);
      }
    }
    if (b.max_length !== undefined) {
      const length = typeof v === 'string' ? [...v].length : Array.isArray(v) ? v.length : null;
      if (length === null) out.push(`${path} must be a string or a list`);
      else if (length > b.max_length) out.push(`${path} may hold at most ${b.max_length}`);
    }
  }
  return out;
}

/** "Similar" in words, for the card and the grant form. */
export function describeSimilar(variable: VariableSpec): string {
  const fields = Object.entries(variable);
  if (fields.length === 0) return 'exactly the same parameters';
  const parts = fields.map(([path, b]) => {
    const bounds: string[] = [];
    if (b.in) bounds.push(`one of ${b.in.map((x) => JSON.stringify(x)).join(', ')}`);
    if (b.min !== undefined) bounds.push(`≥ ${b.min}`);
    if (b.max !== undefined) bounds.push(`≤ ${b.max}`);
    if (b.max_length !== undefined) bounds.push(`at most ${b.max_length} long`);
    return `${path}${bounds.length ? ` (${bounds.join(', ')})` : ' (any value)'}`;
  });
  return `the same parameters except ${parts.join('; ')}`;
}
