/** One changed field between what the agent asked and what an approver approved. */
export type FieldChange = { path: string; before: unknown; after: unknown };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The fields that differ, by dotted path into nested objects (lists compare whole): what the card, the agent
 * and the evidence show of an edit. A field only on one side has `undefined` on the other.
 */
export function paramsDiff(before: Record<string, unknown>, after: Record<string, unknown>, prefix = ''): FieldChange[] {
  const out: FieldChange[] = [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const key of keys) {
    const path = prefix ? `${prefix}.${key}` : key;
    const a = before[key];
    const b = after[key];
    if (isObject(a) && isObject(b)) out.push(...paramsDiff(a, b, path));
    else if (!same(a, b)) out.push({ path, before: a, after: b });
  }
  return out;
}

/** The same diff as JSON (undefined becomes null, marked `absent`). */
export function diffJson(changes: FieldChange[]): Array<Record<string, unknown>> {
  return changes.map((c) => ({
    path: c.path,
    ...(c.before === undefined ? { before_absent: true } : { before: c.before }),
    ...(c.after === undefined ? { after_absent: true } : { after: c.after }),
  }));
}
