import { compileParameterPath } from '../parameter-path.ts';
import type { InCondition, NotInCondition } from '../schema/conditions.ts';
import type { EvalScope } from '../scope.ts';
import { renderValue } from '../template.ts';
import { kindOf, type CompiledCondition, type ConditionStatus } from './compiled-condition.ts';

/**
 * `in` / `not_in` a fixed list. A value whose type matches none of the listed values (a number
 * where the list holds strings, an object, null) is mistyped rather than simply "not in", so a
 * deny or escalate rule still applies to it.
 */
export function compileMembership(condition: InCondition | NotInCondition): CompiledCondition {
  const path = compileParameterPath(condition.parameter);
  const members = new Set<unknown>(condition.values);
  const types = new Set<string>(condition.values.map((value) => typeof value));
  const negate = condition.type === 'not_in';
  const listed = `[${condition.values.map((value) => renderValue(value)).join(', ')}]`;
  const verb = negate ? 'not in' : 'in';
  const expects = [...types].map((type) => `a ${type}`).join(' or ');
  return {
    type: condition.type,
    parameter: condition.parameter,
    expects,
    test(scope: EvalScope): ConditionStatus {
      const value = scope.lookup(path);
      if (value === undefined) return 'missing';
      if (!types.has(typeof value) || value === null) return 'mistyped';
      return members.has(value) !== negate ? 'holds' : 'fails';
    },
    describe(scope: EvalScope): string {
      const value = scope.lookup(path);
      if (value === undefined) return `${path.name} ${verb} ${listed}: ${path.name} missing`;
      if (!types.has(typeof value) || value === null) {
        return `${path.name} ${verb} ${listed}: ${path.name} has the wrong type (got ${kindOf(value)})`;
      }
      return `${path.name} ${verb} ${listed}: ${path.name} = ${renderValue(value)}, ${members.has(value) !== negate ? 'true' : 'false'}`;
    },
  };
}
