/** A parameter name as conditions and templates write it: `amount`, `target.count`, `items.0`. */
export const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;

export type ParameterPath = { name: string; keys: readonly string[] };

export function compileParameterPath(name: string): ParameterPath {
  return { name, keys: name.split('.') };
}

/**
 * Reads a dotted path from a plain object. Only own properties count, so `constructor` or
 * `__proto__` in a policy can never reach Object.prototype.
 */
export function readPath(root: Record<string, unknown> | undefined, keys: readonly string[]): unknown {
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
