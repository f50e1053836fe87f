/**
 * Tool contracts treat unknown fields as violations: every object schema that does not say what to do
 * with extra properties gets `additionalProperties: false`. Branches of `allOf` are left open (closing
 * each branch would reject the other branches' fields); a composed schema closes itself with
 * `unevaluatedProperties: false`.
 */
export function closeSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeSchema);
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = { ...schema };
  for (const key of ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']) {
    if (isObject(out[key])) out[key] = mapValues(out[key] as Record<string, unknown>, closeSchema);
  }
  for (const key of ['items', 'additionalItems', 'contains', 'additionalProperties', 'unevaluatedItems']) {
    if (isObject(out[key]) || Array.isArray(out[key])) out[key] = closeSchema(out[key]);
  }
  for (const key of ['prefixItems', 'anyOf', 'oneOf']) {
    if (Array.isArray(out[key])) out[key] = (out[key] as unknown[]).map(closeSchema);
  }
  if (isObjectSchema(out) && !('additionalProperties' in out) && !('unevaluatedProperties' in out) && !('allOf' in out)) {
    out.additionalProperties = false;
  }
  return out;
}

function isObjectSchema(s: Record<string, unknown>): boolean {
  const t = s.type;
  return t === 'object' || (Array.isArray(t) && t.includes('object')) || isObject(s.properties) || isObject(s.patternProperties);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mapValues(o: Record<string, unknown>, f: (v: unknown) => unknown): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}
