import type { Db } from '../db/client';
import { ifLockTaken } from '../db/exec';
import { logger } from '../lib/logger';

/**
 * Runs `task` every `everyMs` on whichever instance takes the advisory lock first, so periodic work
 * (reconciliation, expiry) runs once per tick across the deployment, not once per instance.
 */
export function everyOnce(db: Db, name: string, lockKey: number, everyMs: number, task: () => Promise<unknown>) {
  let stopped = false;
  let running: Promise<void> | null = null;
  const tick = async () => {
    try {
      await ifLockTaken(db, lockKey, task);
    } catch (err) {
      logger.warn({ err, task: name }, 'periodic task failed; will run again');
    }
  };
  const timer = setInterval(() => {
    if (stopped || running) return;
    running = tick().finally(() => {
      running = null;
    });
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** Coalesces bursts of "run now" requests into at most one extra run after the current one. */
export function coalesced(task: () => Promise<unknown>, onError: (err: unknown) => void) {
  let running: Promise<void> | null = null;
  let again = false;
  const run = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await task();
        } catch (err) {
          onError(err);
        }
      } while (again);
    })().finally(() => {
      running = null;
    });
    return running;
  };
  return { kick: () => void run(), run, idle: () => running ?? Promise.resolve() };
}
