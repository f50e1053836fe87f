/**
 * Collects Block Kit problems in the form Slack reports them in `response_metadata.messages`:
 * `[ERROR] <what> [json-pointer:/blocks/0/text/text]`.
 */
export class Issues {
  readonly messages: string[] = [];

  add(pointer: string, problem: string): void {
    this.messages.push(`[ERROR] ${problem} [json-pointer:${pointer}]`);
  }

  get empty(): boolean {
    return this.messages.length === 0;
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks an optional string field's type and length; returns the string when it is one. */
export function checkString(
  issues: Issues,
  owner: Record<string, unknown>,
  field: string,
  pointer: string,
  opts: { max?: number; min?: number; required?: boolean } = {},
): string | undefined {
  const value = owner[field];
  const at = `${pointer}/${field}`;
  if (value === undefined || value === null) {
    if (opts.required) issues.add(pointer, `missing required field: ${field}`);
    return undefined;
  }
  if (typeof value !== 'string') {
    issues.add(at, 'must provide a string');
    return undefined;
  }
  if (opts.max !== undefined && value.length > opts.max) {
    issues.add(at, `must be less than ${opts.max + 1} characters`);
  }
  if (opts.min !== undefined && value.length < opts.min) {
    issues.add(at, `must be more than ${opts.min - 1} characters`);
  }
  return value;
}

/** Checks an array field's presence and item count; returns the array when it is one. */
export function checkArray(
  issues: Issues,
  owner: Record<string, unknown>,
  field: string,
  pointer: string,
  opts: { max?: number; min?: number; required?: boolean } = {},
): unknown[] | undefined {
  const value = owner[field];
  const at = `${pointer}/${field}`;
  if (value === undefined || value === null) {
    if (opts.required) issues.add(pointer, `missing required field: ${field}`);
    return undefined;
  }
  if (!Array.isArray(value)) {
    issues.add(at, 'must provide an array');
    return undefined;
  }
  if (opts.max !== undefined && value.length > opts.max) issues.add(at, `no more than ${opts.max} items allowed`);
  if (opts.min !== undefined && value.length < opts.min) issues.add(at, `must provide at least ${opts.min} items`);
  return value;
}

export function checkBoolean(issues: Issues, owner: Record<string, unknown>, field: string, pointer: string): void {
  const value = owner[field];
  if (value !== undefined && typeof value !== 'boolean') issues.add(`${pointer}/${field}`, 'must provide a boolean');
}
