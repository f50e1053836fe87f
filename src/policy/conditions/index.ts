import type { Condition } from '../schema/conditions.ts';
import { compileBlastRadius } from './blast-radius.ts';
import type { CompiledCondition } from './compiled-condition.ts';
import { compileIncludesAny } from './includes-any.ts';
import { compileMembership } from './membership.ts';
import { compileThreshold } from './threshold.ts';
import { compileTimeWindow } from './time-window.ts';

export type { CompiledCondition, ConditionStatus } from './compiled-condition.ts';

export function compileCondition(condition: Condition): CompiledCondition {
  switch (condition.type) {
    case 'blast_radius_max':
      return compileBlastRadius(condition);
    case 'threshold':
      return compileThreshold(condition);
    case 'in':
    case 'not_in':
      return compileMembership(condition);
    case 'includes_any':
      return compileIncludesAny(condition);
    case 'time_window':
      return compileTimeWindow(condition);
  }
}
