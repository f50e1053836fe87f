import type postgres from 'postgres';

type PendingQuery = Promise<unknown> & { cancelled?: unknown };

/**
 * The postgres.js client with at most `max` statements or transactions in flight at once, its pool size, so the
 * driver always finds a free connection for the next one and never pipelines.
 *
 * Why: once all its connections are busy, postgres.js sends further statements on a busy connection before the
 * previous answer arrived (pipelining; `max_pipeline` cannot turn it off without breaking `begin`). PgBouncer
 * before 1.21 in transaction mode gives the server connection back at the first answer's ReadyForQuery, and
 * the answers to what was already sent behind it reach no client: those queries wait for ever (300 concurrent
 * queries on 2 connections through Debian's pgbouncer 1.18: 160 never answered). One statement per connection
 * at a time costs nothing while the pool has room, and under load the waiting moves from the server's sockets
 * into this queue, where the wait budget (wait-budget.ts) can see it.
 *
 * Statements inside a transaction run on its reserved connection and take no slot of their own.
 */
export function withoutPipelining(sql: postgres.Sql, max: number): postgres.Sql {
  let inFlight = 0;
  const waiting: Array<() => void> = [];
  const acquire = (): Promise<void> => {
    if (inFlight < max) {
      inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  // A freed slot passes straight to the next waiter, so a late arrival cannot overtake it.
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else inFlight--;
  };

  function unsafe(...args: Parameters<postgres.Sql['unsafe']>) {
    const query = sql.unsafe(...args) as unknown as PendingQuery;
    const then = query.then;
    let settled: Promise<unknown> | undefined;
    // postgres.js sends a query when it is first awaited; hold that back until a slot is free.
    query.then = function (onFulfilled?: unknown, onRejected?: unknown) {
      settled ??= acquire().then(
        () =>
          new Promise((resolve, reject) => {
            if (query.cancelled) {
              // Cancelled while it waited (the wait budget ran out): never hand it to the driver, which would park
              // a connection on it. Its promise is already rejected; pass that on without sending anything.
              release();
              Promise.prototype.then.call(query, resolve, reject);
              return;
            }
            then.call(
              query,
              (v: unknown) => (release(), resolve(v)),
              (e: unknown) => (release(), reject(e)),
            );
          }),
      );
      return settled.then(onFulfilled as never, onRejected as never);
    } as typeof query.then;
    return query;
  }

  async function begin(...args: unknown[]) {
    await acquire();
    try {
      return await (sql.begin as (...a: unknown[]) => Promise<unknown>)(...args);
    } finally {
      release();
    }
  }

  return new Proxy(sql, {
    get(target, prop, receiver) {
      if (prop === 'unsafe') return unsafe;
      if (prop === 'begin') return begin;
      return Reflect.get(target, prop, receiver);
    },
  });
}
