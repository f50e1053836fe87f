/** A fact name as conditions and templates write it: `amount`, `plan.target_count`, `agent.owner`, `items.0`. */
export const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

/**
 * Where a fact comes from. `params` is the payload that is hashed and executed; `plan` is what the executor's
 * prepare step says will happen; `agent`, `requester`, `time` and `usage` are established by the server.
 * `context` is the agent's claim: it names a source so that a policy reading it can be found (lint) and
 * refused, but a condition never reads it (docs/policy.md, "Facts and their sources").
 */
export const FACT_SOURCES = ['params', 'plan', 'agent', 'requester', 'time', 'usage'] as const;
export type FactSource = (typeof FACT_SOURCES)[number];
export const CLAIM_SOURCE = 'context';

/**
 * `source` null: a bare name (`target_count`), resolved as `plan.<name>` when the executor prepared the
 * action and said so, else `params.<name>`. `context`: a claim, always read as missing.
 */
export type ParameterPath = { name: string; keys: readonly string[]; source: FactSource | typeof CLAIM_SOURCE | null };

export function compileParameterPath(name: string): ParameterPath {
  const keys = name.split('.');
  const first = keys[0]!;
  if (keys.length > 1 && (FACT_SOURCES as readonly string[]).includes(first)) return { name, keys: keys.slice(1), source: first as FactSource };
  if (keys.length > 1 && first === CLAIM_SOURCE) return { name, keys: keys.slice(1), source: CLAIM_SOURCE };
  return { name, keys, source: null };
}

/**
 * Reads a dotted path from a plain object. Only own properties count, so `constructor` or
 * `__proto__` in a policy can never reach Object.prototype.
 */
export function readPath(root: Record<string, unknown> | undefined | null, keys: readonly string[]): unknown {
  if (keys.length === 1) {
    const key = keys[0]!;
    return root !== undefined && root !== null && Object.hasOwn(root, key) ? root[key] : undefined;
  }
  let value: unknown = root;
  for (const key of keys) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
