import { logger } from '../lib/logger';
import { withTimeout } from './metrics';

export type ReadinessChecks = Record<string, () => Promise<unknown>>;

export type DependencyProbe = {
  /** The last round's answer per check (false until a check first succeeds). */
  results(): Record<string, boolean>;
  /** Resolves after the first round, so an instance is not reported ready before it was checked. */
  firstRound: Promise<void>;
  stop(): void;
};

/**
 * Checks each dependency on its own schedule (every `everyMs`, each check bounded by `timeoutMs`) and keeps
 * the answers, so `/readyz` and the `countersign_dependency_up` gauge answer at once from the last round
 * instead of each probe waiting out a timeout during an outage. The answer lags reality by at most
 * `everyMs + timeoutMs`. A change is logged once (warn when down, info when back), not per request.
 */
export function startDependencyProbe(checks: ReadinessChecks, opts: { everyMs?: number; timeoutMs?: number } = {}): DependencyProbe {
  const everyMs = opts.everyMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 1000;
  const names = Object.keys(checks);
  const up: Record<string, boolean> = Object.fromEntries(names.map((n) => [n, false]));
  const seen = new Set<string>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  async function round(): Promise<void> {
    await Promise.all(
      names.map(async (name) => {
        let ok = true;
        let err: unknown;
        try {
          await withTimeout(checks[name]!(), timeoutMs);
        } catch (e) {
          ok = false;
          err = e;
        }
        if (ok !== up[name] || !seen.has(name)) {
          if (!ok) logger.warn({ dependency: name, err }, 'dependency is down: requests that need it are answered 503');
          else if (seen.has(name)) logger.info({ dependency: name }, 'dependency is back');
        }
        seen.add(name);
        up[name] = ok;
      }),
    );
  }
  // The next round starts when this one ended: a slow check never stacks rounds.
  const loop = () => {
    if (stopped) return;
    timer = setTimeout(() => void round().finally(loop), everyMs);
    timer.unref?.();
  };
  const firstRound = round().finally(loop);
  return {
    results: () => ({ ...up }),
    firstRound,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
