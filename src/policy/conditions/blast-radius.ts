import { compileParameterPath, type ParameterPath } from '../parameter-path.ts';
import type { BlastRadiusCondition } from '../schema/conditions.ts';
import type { EvalScope } from '../scope.ts';
import { renderValue } from '../template.ts';
import { kindOf, type CompiledCondition, type ConditionStatus } from './compiled-condition.ts';

type Reading = { status: 'missing' } | { status: 'mistyped'; kind: string } | { status: 'ok'; count: number };

/** A stated count must be a whole number of things: negative, fractional or non-finite values are not counts. */
function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function stated(scope: EvalScope, path: ParameterPath): Reading {
  const value = scope.lookup(path);
  if (value === undefined) return { status: 'missing' };
  return isCount(value) ? { status: 'ok', count: value } : { status: 'mistyped', kind: describeKind(value) };
}

/** What the payload itself holds: the length of a list, the number of keys of a map. */
function counted(scope: EvalScope, path: ParameterPath): Reading {
  const value = scope.lookup(path);
  if (value === undefined) return { status: 'missing' };
  if (Array.isArray(value)) return { status: 'ok', count: value.length };
  if (value !== null && typeof value === 'object') return { status: 'ok', count: Object.keys(value).length };
  return { status: 'mistyped', kind: kindOf(value) };
}

function describeKind(value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return kindOf(value);
  return value < 0 ? 'a negative number' : 'a fractional number';
}

/** Holds when the count exceeds the cap: the action touches more than the policy allows at once. */
export function compileBlastRadius(condition: BlastRadiusCondition): CompiledCondition {
  const byCount = condition.count !== undefined;
  const path = compileParameterPath((condition.count ?? condition.parameter)!);
  const read = byCount ? counted : stated;
  const label = byCount ? `count(${path.name})` : path.name;
  const { threshold } = condition;
  return {
    type: condition.type,
    parameter: path.name,
    expects: byCount ? 'a list or a map' : 'a finite number',
    mistyped(value: unknown) {
      if (byCount) return { expects: 'a list or a map', got: kindOf(value) };
      // A number that is not a count (negative, fractional) says so; anything else is not a number at all.
      if (typeof value === 'number' && Number.isFinite(value)) return { expects: 'a count (a whole number of at least 0)', got: describeKind(value) };
      return { expects: 'a finite number', got: kindOf(value) };
    },
    test(scope: EvalScope): ConditionStatus {
      const reading = read(scope, path);
      if (reading.status !== 'ok') return reading.status;
      return reading.count > threshold ? 'holds' : 'fails';
    },
    describe(scope: EvalScope): string {
      const reading = read(scope, path);
      if (reading.status === 'missing') return `${label} missing (cap ${threshold})`;
      if (reading.status === 'mistyped') return `${label} is not ${byCount ? 'a list or a map' : 'a count'} (got ${reading.kind}; cap ${threshold})`;
      return `${label} = ${renderValue(reading.count)} ${reading.count > threshold ? 'exceeds' : 'is within'} the cap of ${threshold}`;
    },
  };
}
