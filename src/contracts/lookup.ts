import type { ExecutorConfig } from '../config/file-config';
import { matchesActionClassGlob } from '../lib/action-class-glob';

/** The contract for an action class: an exact key wins, otherwise the first matching glob in file order. */
export function contractFor(executor: ExecutorConfig, actionClass: string): Record<string, unknown> | null {
  const exact = executor.contracts[actionClass];
  if (exact) return exact;
  for (const [pattern, schema] of Object.entries(executor.contracts)) {
    if (matchesActionClassGlob(pattern, actionClass)) return schema;
  }
  return null;
}
