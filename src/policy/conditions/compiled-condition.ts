import type { EvalScope } from '../scope.ts';

/**
 * `missing` and `mistyped` are kept apart from `fails` because they are not answers: the rule
 * decides what they mean (fail closed: they hold for deny/escalate, not for allow).
 */
export type ConditionStatus = 'holds' | 'fails' | 'missing' | 'mistyped';

export interface CompiledCondition {
  readonly type: string;
  /** The parameter read, or null for conditions on the clock. */
  readonly parameter: string | null;
  /** What a well-typed value looks like, for the fail-closed note ("a finite number"). */
  readonly expects: string;
  test(scope: EvalScope): ConditionStatus;
  /** What a mistyped value should have been and what it was, when that depends on the value. */
  mistyped?(value: unknown): { expects: string; got: string };
  /** What was observed and compared, for `explain` and fail-closed notes. */
  describe(scope: EvalScope): string;
}

export function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** How a mistyped value is named in reasoning: its kind, never its (possibly long) content. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : Number.isFinite(value) ? 'number' : 'infinite number';
  return typeof value;
}
