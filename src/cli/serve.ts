import { parseEnv } from '../config/env';
import { startLocal } from '../embedded/start';
import { logger } from '../lib/logger';
import { parseFlags, type CliIo } from './io';

/**
 * `countersign serve`: runs until SIGTERM/SIGINT. Then it stops taking new work (HTTP server closed, workers
 * fetch no more jobs), lets in-flight executor calls finish and record their outcome, and exits 0. Past
 * COUNTERSIGN_SHUTDOWN_DEADLINE_MS it exits 1 with work in flight: leases run out and reconciliation takes it over.
 */
export async function serve(argv: string[], io: CliIo): Promise<number> {
  guardPostgresDriverCrash();
  const { flags } = parseFlags(argv);
  const env = parseEnv();
  // What is not configured is started here: embedded PostgreSQL, a private Redis, sandbox mode (src/embedded).
  const app = await startLocal(env, { api: !flags['worker-only'], workers: !flags['api-only'], migrate: flags.migrate !== 'false', say: io.stdout });
  io.stdout(`countersign listening on ${app.url}`);
  logger.info({ url: app.url }, 'countersign started');
  const code = await new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal, deadline_ms: env.COUNTERSIGN_SHUTDOWN_DEADLINE_MS }, 'shutting down: no new work, finishing in-flight work');
      const deadline = setTimeout(() => {
        logger.error('shutdown deadline passed; exiting with work in flight (leases run out, reconciliation takes it over)');
        process.exit(1);
      }, env.COUNTERSIGN_SHUTDOWN_DEADLINE_MS);
      deadline.unref();
      app.close().then(
        () => {
          clearTimeout(deadline);
          logger.info('shut down cleanly');
          resolve(0);
        },
        (err) => {
          logger.error({ err }, 'error during shutdown');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  // Everything is closed; a stray handle (a library timer, a half-open socket) must not keep the process up.
  setTimeout(() => process.exit(code), 2000).unref();
  return code;
}

/**
 * postgres.js 3.4.9 can throw from a setImmediate after a connection closed under it (`nextWrite` on a null
 * socket; porsager/postgres#1154, #1208, unfixed upstream). The queries on that connection were already
 * rejected with CONNECTION_CLOSED, so the throw carries no work of ours — but uncaught it kills the process,
 * and a PostgreSQL restart must not take the gateway down. Only that exact throw is swallowed; anything
 * else still crashes the process as Node would.
 */
function guardPostgresDriverCrash(): void {
  process.on('uncaughtException', (err) => {
    const stack = (err as Error)?.stack ?? '';
    if (err instanceof TypeError && /reading 'write'/.test(err.message) && /nextWrite/.test(stack) && /postgres[\\/]src[\\/]connection\.js/.test(stack)) {
      logger.warn({ err }, 'postgres driver wrote to a closed connection (known driver bug); its queries were already failed');
      return;
    }
    if (isTypeFetchRefusal(err)) {
      logger.warn({ err }, 'a new database connection could not fetch its array types (PostgreSQL unreachable behind a pooler); it is opened again');
      return;
    }
    logger.fatal({ err }, 'uncaught exception');
    process.exit(1);
  });
}

/**
 * postgres.js fetches the array types on every new connection (`fetchArrayTypes`, its own query) and does
 * not handle that query's rejection. Directly on PostgreSQL it cannot fail after a successful login; behind
 * PgBouncer the login is PgBouncer's and the type query is the first that needs a server, so while
 * PostgreSQL is down PgBouncer refuses it (class 08: query_wait_timeout, server login failing) and the
 * unhandled rejection would end the process. The connection is closed by then and opened again on demand;
 * the query that asked for it fails within the wait budget (503). Nothing of ours is lost by ignoring it.
 */
function isTypeFetchRefusal(err: unknown): boolean {
  const e = err as { name?: string; code?: unknown; query?: unknown } | null;
  return e?.name === 'PostgresError' && typeof e.code === 'string' && /^08/.test(e.code) && /typarray/.test(String(e.query ?? ''));
}
