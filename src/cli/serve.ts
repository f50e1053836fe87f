import { parseEnv } from '../config/env';
import { startLocal, StartAborted, type Running } from '../embedded/start';
import { startAdminChannel, type AdminChannel } from './admin-channel';
import { runCli } from './main';
import { logger } from '../lib/logger';
import { parseFlags, type CliIo } from './io';

/**
 * `countersign serve`: runs until SIGTERM/SIGINT. Then it stops taking new work (HTTP server closed, workers
 * fetch no more jobs), lets in-flight executor calls finish and record their outcome, and exits 0. Past
 * COUNTERSIGN_SHUTDOWN_DEADLINE_MS it exits 1 with work in flight: leases run out and reconciliation takes it over.
 */
export async function serve(argv: string[], io: CliIo): Promise<number> {
  guardKnownDriverCrashes();
  const { flags } = parseFlags(argv);
  const env = parseEnv();
  // One handler for the process's whole life: a signal must never meet the default action, which kills the
  // process with its private Redis still running and its lock left behind. Ctrl-C in a terminal reaches npm and
  // this process alike, and npm forwards it once more: a second signal is normal, not a request to hurry.
  // While starting, a signal stops the start at once (what was started is stopped, the data directory left usable).
  const starting = new AbortController();
  let requested: NodeJS.Signals | null = null;
  let onSignal = (signal: NodeJS.Signals) => {
    requested ??= signal;
    starting.abort();
  };
  const handler = (signal: NodeJS.Signals) => onSignal(signal);
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  let app: Running;
  try {
    // What is not configured is started here: embedded PostgreSQL, a private Redis, sandbox mode (src/embedded).
    app = await startLocal(env, {
      api: !flags['worker-only'],
      workers: !flags['api-only'],
      migrate: flags.migrate !== 'false',
      say: io.stdout,
      signal: starting.signal,
    });
  } catch (e) {
    if (!(e instanceof StartAborted)) throw e;
    io.stdout('start-up interrupted; stopped what had started');
    // initdb may still be running inside this process: it is given up on (the next start begins it again),
    // and what it wrote is removed in the same tick as the exit, so it cannot write more.
    e.settle();
    process.exit(130);
  }
  const code = await new Promise<number>((resolve) => {
    let stopping = false;
    let channel: Promise<AdminChannel | null> = Promise.resolve(null);
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        logger.debug({ signal }, 'already shutting down');
        return;
      }
      stopping = true;
      shuttingDown = true;
      logger.info({ signal, deadline_ms: env.COUNTERSIGN_SHUTDOWN_DEADLINE_MS }, 'shutting down: no new work, finishing in-flight work');
      const deadline = setTimeout(() => {
        logger.error('shutdown deadline passed; exiting with work in flight (leases run out, reconciliation takes it over)');
        process.exit(1);
      }, env.COUNTERSIGN_SHUTDOWN_DEADLINE_MS);
      deadline.unref();
      channel
        .then((c) => c?.close())
        .then(() => app.close())
        .then(
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
    onSignal = stop;
    // A signal that came as the start finished: stop now (no admin channel opened, nothing announced).
    if (requested) return stop(requested);
    channel = startOperatorChannel(app).then(
      (c) => {
        if (!stopping) {
          io.stdout(`countersign listening on ${app.url}`);
          logger.info({ url: app.url }, 'countersign started');
        }
        return c;
      },
      (err) => {
        logger.error({ err }, 'could not open the admin channel; operator commands cannot reach this server');
        return null;
      },
    );
  });
  // Everything is closed; a stray handle (a library timer, a half-open socket) must not keep the process up.
  setTimeout(() => process.exit(code), 2000).unref();
  return code;
}

/**
 * With the embedded database open in this process, operator commands (countersign agents list, …) come through
 * the admin channel and run here, on this database (null when the database is not the embedded one).
 */
export async function startOperatorChannel(app: Running): Promise<AdminChannel | null> {
  if (!app.embedded.database) return null;
  return startAdminChannel(
    app.dataDir,
    (req, channelIo) => runCli(req.argv, { ...channelIo, context: { database: { db: app.db, sql: null }, env: app.env, config: app.config, operator: req.operator, ...(req.cwd ? { cwd: req.cwd } : {}) } }),
    { appUrl: app.url },
  );
}

let shuttingDown = false;

/**
 * postgres.js 3.4.9 can throw from a setImmediate after a connection closed under it (`nextWrite` on a null
 * socket; porsager/postgres#1154, #1208, unfixed upstream). The queries on that connection were already
 * rejected with CONNECTION_CLOSED, so the throw carries no work of ours — but uncaught it kills the process,
 * and a PostgreSQL restart must not take the gateway down.
 * While shutting down, ioredis' "Connection is closed." from its own close handler is a reply dropped by a
 * connection being closed (the defect vitest.config.ts tolerates; src/queue/worker-close.ts avoids its known
 * source): exiting 1 on it would skip the rest of the shutdown and leave the private Redis running.
 * Only those exact throws are swallowed; anything else still crashes the process as Node would.
 */
function guardKnownDriverCrashes(): void {
  process.on('uncaughtException', (err) => {
    const stack = (err as Error)?.stack ?? '';
    if (err instanceof TypeError && /reading 'write'/.test(err.message) && /nextWrite/.test(stack) && /postgres[\\/]src[\\/]connection\.js/.test(stack)) {
      logger.warn({ err }, 'postgres driver wrote to a closed connection (known driver bug); its queries were already failed');
      return;
    }
    if (shuttingDown && (err as Error)?.message === 'Connection is closed.' && /ioredis[\\/]built[\\/]redis[\\/]event_handler/.test(stack)) {
      logger.warn({ err }, 'a Redis reply was dropped by the shutdown (connection closed under it)');
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
