import type postgres from 'postgres';
import { DependencyUnavailable } from '../lib/dependency-error';

/**
 * The postgres.js reconnect delay while PostgreSQL is down, in seconds: doubling from 25 ms, capped at
 * 250 ms, with jitter. The driver's default grows to 20 s (`3 ** retries / 100`), and every query waits
 * behind it, which is what made requests hang for up to 29 s during an outage and for seconds after it.
 * With 250 ms a query queued when the server returns waits at most that long; the price is at most four
 * connection attempts a second per pooled connection while the server is down (refused at once locally).
 */
export function reconnectBackoff(retries: number): number {
  return Math.min(0.025 * 2 ** retries, 0.25) * (0.5 + Math.random() / 2);
}

type PendingQuery = Promise<unknown> & { state?: unknown; cancel(): unknown };

/**
 * The postgres.js client drizzle runs on, with every wait for the database bounded by `budgetMs`:
 *
 * - a query still queued in the driver when the budget runs out (no connection yet: the server is down,
 *   reconnecting, or the pool is exhausted) is cancelled, so it never runs later, and fails with
 *   `DependencyUnavailable`: nothing was recorded;
 * - a transaction that has not begun within the budget fails the same way; if the driver later gets a
 *   connection for it, it rolls back before its body runs.
 *
 * A statement already sent to the server is left to finish (or to fail when its connection drops): it may be
 * a legitimately slow one, and cancelling it would leave the caller unsure whether it committed.
 */
export function withWaitBudget(sql: postgres.Sql, budgetMs: number): postgres.Sql {
  const timeout = () => new DependencyUnavailable('postgres', `the database did not answer within ${budgetMs} ms`);
  // Until the first answer the process is starting: its first connections may take longer than the budget
  // on a busy host, and failing them would stop the start instead of shedding load. The budget is for outages.
  let answered = false;
  const armed = () => answered;

  function unsafe(...args: Parameters<postgres.Sql['unsafe']>) {
    const query = sql.unsafe(...args) as unknown as PendingQuery;
    let bounded: Promise<unknown> | undefined;
    const then = query.then;
    // postgres.js queries are lazy: they are sent when first awaited, so the clock starts then.
    query.then = function (onFulfilled?: unknown, onRejected?: unknown) {
      bounded ??= new Promise((resolve, reject) => {
        const timer = armed()
          ? setTimeout(() => {
              if (query.state) return; // sent: see above
              reject(timeout());
              void query.cancel();
            }, budgetMs)
          : undefined;
        then.call(
          query,
          (v: unknown) => ((answered = true), clearTimeout(timer), resolve(v)),
          (e: unknown) => (clearTimeout(timer), reject(e)),
        );
      });
      return bounded.then(onFulfilled as never, onRejected as never);
    } as typeof query.then;
    return query;
  }

  function begin(...args: unknown[]) {
    const body = args.pop() as (tx: postgres.TransactionSql) => unknown;
    let begun = false;
    let abandoned = false;
    const running = (sql.begin as (...a: unknown[]) => Promise<unknown>)(...args, (tx: postgres.TransactionSql) => {
      if (abandoned) throw timeout(); // rolled back before anything was written
      begun = answered = true;
      return body(tx);
    });
    return new Promise((resolve, reject) => {
      const timer = armed()
        ? setTimeout(() => {
            if (begun) return;
            abandoned = true;
            reject(timeout());
          }, budgetMs)
        : undefined;
      running.then(
        (v) => (clearTimeout(timer), resolve(v)),
        (e) => (clearTimeout(timer), reject(e)),
      );
    });
  }

  return new Proxy(sql, {
    get(target, prop, receiver) {
      if (prop === 'unsafe') return unsafe;
      if (prop === 'begin') return begin;
      return Reflect.get(target, prop, receiver);
    },
  });
}
