import type { ExecutorConfig, FileConfig } from '../config/file-config';
import { matchesActionClassGlob } from '../lib/action-class-glob';

/** The executor that serves an action class: the first configured one whose globs match. */
export function resolveExecutor(config: Pick<FileConfig, 'executors'>, actionClass: string): ExecutorConfig | null {
  for (const ex of config.executors) {
    if (ex.action_classes.some((g) => matchesActionClassGlob(g, actionClass))) return ex;
  }
  return null;
}

export function findExecutor(config: Pick<FileConfig, 'executors'>, name: string): ExecutorConfig | null {
  return config.executors.find((e) => e.name === name) ?? null;
}
