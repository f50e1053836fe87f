import type { PolicyInput } from './contract.ts';
import { readPath, type ParameterPath } from './parameter-path.ts';

/**
 * What one evaluation reads. `now` is fixed on first use so every condition and the reasoning
 * of one decision see the same instant.
 */
export class EvalScope {
  private instant: Date | undefined;

  constructor(readonly input: PolicyInput) {}

  /** Context first, then params: the agent's declared context is what policies are written against. */
  lookup(path: ParameterPath): unknown {
    const fromContext = readPath(this.input.context, path.keys);
    return fromContext !== undefined ? fromContext : readPath(this.input.params, path.keys);
  }

  now(): Date {
    return (this.instant ??= this.input.now ?? new Date());
  }
}
