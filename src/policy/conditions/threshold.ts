import { compileParameterPath } from '../parameter-path.ts';
import type { Comparison, ThresholdCondition } from '../schema/conditions.ts';
import type { EvalScope } from '../scope.ts';
import { renderValue } from '../template.ts';
import { isFiniteNumber, kindOf, type CompiledCondition, type ConditionStatus } from './compiled-condition.ts';

const symbols: Record<Comparison, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

function comparator(op: Comparison, bound: number): (value: number) => boolean {
  switch (op) {
    case 'gt':
      return (value) => value > bound;
    case 'gte':
      return (value) => value >= bound;
    case 'lt':
      return (value) => value < bound;
    case 'lte':
      return (value) => value <= bound;
  }
}

/** A numeric comparison on any parameter, e.g. a refund `amount` over 100. */
export function compileThreshold(condition: ThresholdCondition): CompiledCondition {
  const path = compileParameterPath(condition.parameter);
  // The schema guarantees exactly one comparison is present.
  const op = (['gt', 'gte', 'lt', 'lte'] as const).find((key) => condition[key] !== undefined) ?? 'gt';
  const bound = condition[op] ?? 0;
  const compare = comparator(op, bound);
  const expression = `${path.name} ${symbols[op]} ${bound}`;
  return {
    type: condition.type,
    parameter: condition.parameter,
    expects: 'a finite number',
    test(scope: EvalScope): ConditionStatus {
      const value = scope.lookup(path);
      if (value === undefined) return 'missing';
      if (!isFiniteNumber(value)) return 'mistyped';
      return compare(value) ? 'holds' : 'fails';
    },
    describe(scope: EvalScope): string {
      const value = scope.lookup(path);
      if (value === undefined) return `${expression}: ${path.name} missing`;
      if (!isFiniteNumber(value)) return `${expression}: ${path.name} is not a number (got ${kindOf(value)})`;
      return `${expression}: ${path.name} = ${renderValue(value)}, ${compare(value) ? 'true' : 'false'}`;
    },
  };
}
