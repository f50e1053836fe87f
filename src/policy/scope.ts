import type { PolicyInput } from './contract.ts';
import { readPath, type ParameterPath } from './parameter-path.ts';

/**
 * What one evaluation reads. `now` is fixed on first use so every condition and the reasoning
 * of one decision see the same instant.
 */
export class EvalScope {
  private instant: Date | undefined;
  private timeFacts: Record<string, unknown> | undefined;

  constructor(readonly input: PolicyInput) {}

  /**
   * A fact by its source. A bare name reads the executor's plan first, then the params (what will run, as
   * the executor describes it, before what the agent wrote). `context` is a claim: never read.
   */
  lookup(path: ParameterPath): unknown {
    switch (path.source) {
      case null: {
        const planned = readPath(this.input.plan, path.keys);
        return planned !== undefined ? planned : readPath(this.input.params, path.keys);
      }
      case 'context':
        return undefined;
      case 'time':
        return readPath(this.time(), path.keys);
      default:
        return readPath(this.input[path.source] ?? undefined, path.keys);
    }
  }

  /** Which source a bare name was read from, for `explain` and fail-closed notes. */
  sourceOf(path: ParameterPath): string {
    if (path.source !== null) return path.source;
    if (readPath(this.input.plan, path.keys) !== undefined) return 'plan';
    return 'params';
  }

  now(): Date {
    return (this.instant ??= this.input.now ?? new Date());
  }

  private time(): Record<string, unknown> {
    if (this.timeFacts) return this.timeFacts;
    const now = this.now();
    const valid = !Number.isNaN(now.getTime());
    return (this.timeFacts = valid
      ? { iso: now.toISOString(), hour: now.getUTCHours(), weekday: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][now.getUTCDay()] }
      : {});
  }
}
