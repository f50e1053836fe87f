/** The closed set of reasons a policy bundle can be refused. */
export const policyErrorCodes = [
  'no_policy_files',
  'read_failed',
  'file_too_large',
  'invalid_encoding',
  'yaml_syntax',
  'yaml_alias',
  'unknown_key',
  'missing_key',
  'invalid_value',
  'duplicate_rule_id',
  'duplicate_policy_name',
  'invalid_glob',
  'unknown_condition_type',
  'invalid_template',
  'missing_via',
  'escalation_not_allowed',
  'standing_not_allowed',
  'invalid_duration',
  'invalid_timezone',
] as const;
export type PolicyErrorCode = (typeof policyErrorCodes)[number];

/** One problem in one file. `line`/`column` are 1-based; 0 means the problem has no position (e.g. an empty directory). */
export type PolicyError = { file: string; line: number; column: number; message: string; code: PolicyErrorCode };

export function isPolicyErrorCode(value: unknown): value is PolicyErrorCode {
  return typeof value === 'string' && (policyErrorCodes as readonly string[]).includes(value);
}

/** `file:line:col: message [code]`, the shape editors and CI annotations understand. */
export function formatPolicyError(error: PolicyError): string {
  const where = error.line > 0 ? `${error.file}:${error.line}:${error.column}` : error.file;
  return `${where}: ${error.message} [${error.code}]`;
}
