import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import type { Db } from '../db/client';
import { execRows } from '../db/exec';
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

/** How long a run's lease lasts without renewal: a holder that died blocks the task at most this long. */
export const LEASE_TTL_MS = 10_000;
const RENEW_EVERY_MS = 3_000;

/**
 * Runs `task` every `everyMs` once across the deployment, not once per instance: a lease row
 * (`periodic_leases`, taken by one conditional upsert) keeps two runs from overlapping, and the period claim
 * (when given) keeps a second instance from running it again in the same period.
 *
 * The lease is renewed while the run lasts and given back when it ends; nothing holds a database connection
 * in between, so a run's own queries never wait behind the run's lock (an advisory lock held in a transaction
 * did that: behind PgBouncer in transaction mode it pinned server connections until the pool starved).
 */
export function everyOnce(db: Db, name: string, everyMs: number, task: () => Promise<unknown>, claim?: PeriodClaim, holder = defaultHolder()) {
  let stopped = false;
  let running: Promise<void> | null = null;
  const tick = async () => {
    try {
      await ifLeaseTaken(db, name, `${holder}:${randomBytes(4).toString('hex')}`, async () => {
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

/**
 * Runs `run` only if the lease on `task` is free (or lapsed) and this caller takes it; false otherwise. Each
 * statement is a transaction of its own. If the lease cannot be renewed (the database is unreachable) it may
 * lapse while the run goes on, and another instance may start one: every periodic task is idempotent.
 */
export async function ifLeaseTaken(db: Db, task: string, holder: string, run: () => Promise<unknown>): Promise<boolean> {
  const taken = await execRows<{ holder: string }>(
    db,
    sql`insert into periodic_leases (task, holder, expires_at) values (${task}, ${holder}, now() + ${LEASE_TTL_MS} * interval '1 millisecond')
        on conflict (task) do update set holder = excluded.holder, expires_at = excluded.expires_at
        where periodic_leases.expires_at < now()
        returning holder`,
  );
  if (taken.length === 0) return false;
  const renew = setInterval(() => {
    execRows(db, sql`update periodic_leases set expires_at = now() + ${LEASE_TTL_MS} * interval '1 millisecond' where task = ${task} and holder = ${holder}`).catch(
      (err: unknown) => logger.warn({ err, task }, 'could not renew a periodic task lease'),
    );
  }, RENEW_EVERY_MS);
  renew.unref();
  try {
    await run();
    return true;
  } finally {
    clearInterval(renew);
    await execRows(db, sql`update periodic_leases set expires_at = now() where task = ${task} and holder = ${holder}`).catch((err: unknown) =>
      logger.warn({ err, task }, 'could not give back a periodic task lease; it lapses on its own'),
    );
  }
}

function defaultHolder(): string {
  return `${hostname()}:${process.pid}`;
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
