import type { Db } from '../db/client';
import { ifLockTaken } from '../db/exec';
import type { Redis } from 'ioredis';
import { logger } from '../lib/logger';

/** Claims one period of a named task for the whole deployment; false when another instance already has it. */
export type PeriodClaim = (name: string, periodMs: number) => Promise<boolean>;

/**
 * A period claim in Redis (`SET NX PX`): the first instance to tick in a period runs the task, the others
 * skip until the key expires. If Redis is unreachable the task runs anyway — every periodic task is
 * idempotent, so a lost Redis costs an extra run, never a missed one.
 */
export function redisPeriodClaim(redis: Redis, prefix: string, instance: string): PeriodClaim {
  return async (name, periodMs) => {
    try {
      // Commands wait in ioredis's offline queue while Redis is down; do not let that hold up the task.
      const ok = await Promise.race([
        redis.set(`${prefix}:periodic:${name}`, instance, 'PX', Math.max(1, Math.floor(periodMs * 0.9)), 'NX'),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('period claim timed out')), 1000).unref()),
      ]);
      return ok === 'OK';
    } catch (err) {
      logger.warn({ err, task: name }, 'period claim failed (Redis unreachable); running the task anyway');
      return true;
    }
  };
}

/**
 * Runs `task` every `everyMs` once across the deployment, not once per instance: the transaction-scoped
 * advisory lock keeps two runs from overlapping, and the period claim (when given) keeps a second instance
 * from running it again in the same period.
 */
export function everyOnce(db: Db, name: string, lockKey: number, everyMs: number, task: () => Promise<unknown>, claim?: PeriodClaim) {
  let stopped = false;
  let running: Promise<void> | null = null;
  const tick = async () => {
    try {
      await ifLockTaken(db, lockKey, async () => {
        if (stopped) return;
        if (claim && !(await claim(name, everyMs))) return;
        await task();
      });
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
