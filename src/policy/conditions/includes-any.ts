import { compileParameterPath } from '../parameter-path.ts';
import type { IncludesAnyCondition } from '../schema/conditions.ts';
import type { EvalScope } from '../scope.ts';
import { kindOf, type CompiledCondition, type ConditionStatus } from './compiled-condition.ts';

/**
 * Holds when a list fact (`agent.tags`, `requester.groups`) includes any listed value: per-team rules and
 * "the requester is in the approver group" without reading anything the agent wrote.
 */
export function compileIncludesAny(condition: IncludesAnyCondition): CompiledCondition {
  const path = compileParameterPath(condition.parameter);
  const wanted = new Set(condition.values);
  const listed = `[${condition.values.join(', ')}]`;
  const matches = (value: unknown[]) => value.filter((v): v is string => typeof v === 'string' && wanted.has(v));
  return {
    type: condition.type,
    parameter: condition.parameter,
    expects: 'a list',
    test(scope: EvalScope): ConditionStatus {
      const value = scope.lookup(path);
      if (value === undefined) return 'missing';
      if (!Array.isArray(value)) return 'mistyped';
      return matches(value).length > 0 ? 'holds' : 'fails';
    },
    describe(scope: EvalScope): string {
      const value = scope.lookup(path);
      if (value === undefined) return `${path.name} includes any of ${listed}: ${path.name} missing`;
      if (!Array.isArray(value)) return `${path.name} includes any of ${listed}: not a list (got ${kindOf(value)})`;
      const found = matches(value);
      return `${path.name} includes any of ${listed}: ${found.length ? `yes (${found.join(', ')})` : 'no'}`;
    },
  };
}
