import { logger, type Logger } from '../lib/logger';
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
 * `everyMs + timeoutMs`. A change is logged once (warn when down or down for another reason, info when
 * back), not per request.
 */
export function startDependencyProbe(checks: ReadinessChecks, opts: { everyMs?: number; timeoutMs?: number; log?: Logger } = {}): DependencyProbe {
  const log = opts.log ?? logger;
  const everyMs = opts.everyMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 1000;
  const names = Object.keys(checks);
  const up: Record<string, boolean> = Object.fromEntries(names.map((n) => [n, false]));
  const seen = new Set<string>();
  const downBecause = new Map<string, string | null>();
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
        // Logged on a change: down, back, or down for another reason (the first round may only time out
        // before the client learns why — a wrong password, say — and the reason is what the operator needs).
        const reason = ok ? null : (err instanceof Error ? err.message : String(err)).replace(/\d+/g, '#'); // a retry counter is not a new reason
        if (ok !== up[name] || !seen.has(name) || reason !== downBecause.get(name)) {
          if (!ok) log.warn({ dependency: name, err }, 'dependency is down: requests that need it are answered 503');
          else if (seen.has(name)) log.info({ dependency: name }, 'dependency is back');
        }
        seen.add(name);
        up[name] = ok;
        downBecause.set(name, reason);
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
