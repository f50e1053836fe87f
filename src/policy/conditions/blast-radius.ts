import { compileParameterPath } from '../parameter-path.ts';
import type { BlastRadiusCondition } from '../schema/conditions.ts';
import type { EvalScope } from '../scope.ts';
import { renderValue } from '../template.ts';
import { isFiniteNumber, kindOf, type CompiledCondition, type ConditionStatus } from './compiled-condition.ts';

/** Holds when the parameter exceeds the cap: the action touches more than the policy allows at once. */
export function compileBlastRadius(condition: BlastRadiusCondition): CompiledCondition {
  const path = compileParameterPath(condition.parameter);
  const { threshold } = condition;
  return {
    type: condition.type,
    parameter: condition.parameter,
    expects: 'a finite number',
    test(scope: EvalScope): ConditionStatus {
      const value = scope.lookup(path);
      if (value === undefined) return 'missing';
      if (!isFiniteNumber(value)) return 'mistyped';
      return value > threshold ? 'holds' : 'fails';
    },
    describe(scope: EvalScope): string {
      const value = scope.lookup(path);
      if (value === undefined) return `${path.name} missing (cap ${threshold})`;
      if (!isFiniteNumber(value)) return `${path.name} is not a number (got ${kindOf(value)}; cap ${threshold})`;
      return `${path.name} = ${renderValue(value)} ${value > threshold ? 'exceeds' : 'is within'} the cap of ${threshold}`;
    },
  };
}
