import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Env } from '../config/env';
import { loadFileConfig, type FileConfig } from '../config/file-config';
import type { DbConnection } from '../db/client';
import { runMigrations } from '../db/migrate';
import { logger } from '../lib/logger';
import { startCountersign, type Countersign, type StartOptions } from '../main';
import { startSandbox, type Sandbox } from '../sandbox';
import { claimDataDir } from './data-dir';
import { buildingDir, isInitialised, openEmbeddedDatabase, TEMPLATE_DIR } from './database';
import { findOnPath, NO_REDIS_MESSAGE, startPrivateRedis, type PrivateRedis } from './redis-server';
import { EmbeddedError } from './data-dir';
import { redisTargetOf } from '../queue/redis-target';

export type LocalOptions = Pick<StartOptions, 'api' | 'workers' | 'reconcileEveryMs'> & {
  /** Run migrations against DATABASE_URL first (the embedded database is always migrated). Default true. */
  migrate?: boolean;
  /** PATH searched for redis-server (default: the process's). */
  path?: string;
  /** Where start-up lines for a person go (progress of slow steps, the URL, the demo agent's token). */
  say?: (line: string) => void;
  /**
   * Aborting it stops the start at once (Ctrl-C): what was started is stopped (the private Redis), a
   * half-made database removed, the data directory released, and startLocal rejects with StartAborted.
   */
  signal?: AbortSignal;
  /** The embedded database's template (default: the one `npm run build` made; null: none). */
  template?: string | null;
};

export class StartAborted extends Error {
  /**
   * Removes what a step still running in this process may yet write (initdb goes on in the background until
   * the process exits): call it right before exiting, in the same tick.
   */
  settle: () => void = () => {};
  constructor() {
    super('start-up interrupted');
  }
}

export type Running = Countersign & {
  /** What was started for want of configuration. */
  embedded: { database: boolean; redis: boolean };
  sandbox: Sandbox | null;
  /** Token of the demo agent created on a sandbox's first start (null otherwise). */
  demoToken: string | null;
  /** The configuration it runs with, including what was started (REDIS_URL of the private Redis, …). */
  env: Env;
  dataDir: string;
};

/**
 * Runs the whole product with what is configured, starting the rest: without DATABASE_URL an embedded
 * PostgreSQL (PGlite) in COUNTERSIGN_DATA_DIR/pgdata, without REDIS_URL (or REDIS_SENTINELS) a private redis-server with its
 * append-only file in COUNTERSIGN_DATA_DIR/redis, and without Slack credentials sandbox mode (the built-in
 * Slack emulator and the /sandbox page). Everything started here is stopped by close().
 */
export async function startLocal(env: Env, opts: LocalOptions = {}): Promise<Running> {
  const say = opts.say ?? (() => {});
  const dataDir = resolve(env.COUNTERSIGN_DATA_DIR);
  const stack: Array<() => Promise<unknown> | unknown> = [];
  const unwind = async () => {
    const stops = stack.splice(0).reverse();
    for (const stop of stops) await Promise.resolve(stop()).catch((err) => logger.warn({ err }, 'error while stopping'));
  };
  // Every slow step races the abort: an interrupted start does not wait for initdb to finish before stopping.
  let onAbort: () => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new StartAborted());
  });
  aborted.catch(() => undefined);
  if (opts.signal?.aborted) throw new StartAborted();
  opts.signal?.addEventListener('abort', () => onAbort(), { once: true });
  const step = async <T>(work: Promise<T>): Promise<T> => {
    work.catch(() => undefined);
    return Promise.race([work, aborted]);
  };
  const timed = async <T>(label: string, work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    say(`${label}…`);
    const result = await step(work());
    const ms = Date.now() - started;
    if (ms >= 1000) say(`  done in ${(ms / 1000).toFixed(1)} s`);
    return result;
  };
  const pgdataBuilding = buildingDir(join(dataDir, 'pgdata'));
  const settle = () => {
    if (!env.DATABASE_URL) rmSync(pgdataBuilding, { recursive: true, force: true });
  };
  try {
    let effective: Env = env;
    if (!env.DATABASE_URL || !redisTargetOf(env)) {
      const lock = claimDataDir(dataDir);
      stack.push(() => lock.release());
    }
    // Said before any slow step: without redis-server there is nothing to wait for.
    if (!redisTargetOf(env) && !findOnPath('redis-server', opts.path ?? process.env.PATH)) throw new EmbeddedError(NO_REDIS_MESSAGE);
    let database: DbConnection | undefined;
    let appOwnsDatabase = false;
    if (!env.DATABASE_URL) {
      const pgdata = join(dataDir, 'pgdata');
      const configured = env.COUNTERSIGN_PGDATA_TEMPLATE === 'none' ? null : env.COUNTERSIGN_PGDATA_TEMPLATE;
      const template = opts.template !== undefined ? opts.template : configured !== undefined ? configured : TEMPLATE_DIR;
      // A first start interrupted while building the database leaves no half-made cluster behind.
      stack.push(() => rmSync(buildingDir(pgdata), { recursive: true, force: true }));
      const label = isInitialised(pgdata)
        ? `opening the embedded PostgreSQL in ${pgdata}`
        : template && isInitialised(template)
          ? `creating the embedded PostgreSQL in ${pgdata} (first start, from the template npm ci made)`
          : `creating the embedded PostgreSQL in ${pgdata} (first start; initdb takes 10-40 s — npm run build makes a template that saves this)`;
      let opened: DbConnection | null = null;
      const opening = openEmbeddedDatabase(pgdata, { template, signal: opts.signal }).then((d) => (opened = d));
      stack.push(() => {
        if (appOwnsDatabase) return;
        if (opened) return opened.close();
        // Interrupted while it opens: not waited for (initdb may have half a minute to go); it closes itself.
        void opening.then((d) => d.close(), () => undefined);
      });
      database = await timed(label, () => opening);
      logger.debug({ dir: pgdata }, 'opened the embedded PostgreSQL (no DATABASE_URL)');
    } else if (opts.migrate !== false) {
      await timed('applying database migrations', () => runMigrations(env.DATABASE_URL!));
    }
    let redis: PrivateRedis | null = null;
    if (!redisTargetOf(env)) {
      const starting = startPrivateRedis(join(dataDir, 'redis'), { path: opts.path });
      // Stopped even when the abort wins the race against its start.
      stack.push(() => starting.then((r) => r.stop(), () => undefined));
      redis = await timed('starting a private redis-server (no REDIS_URL)', () => starting);
      effective = { ...effective, REDIS_URL: redis.url };
      logger.debug({ url: redis.url, dir: join(dataDir, 'redis') }, 'started a private redis-server (no REDIS_URL)');
    }

    // Sandbox mode serves an unauthenticated approval page: only with the API on, and only on loopback.
    const isSandbox = !env.SLACK_BOT_TOKEN && opts.api !== false && isLoopback(env.HOST);
    if (!env.SLACK_BOT_TOKEN && opts.api !== false && !isSandbox) {
      logger.warn({ host: env.HOST }, 'no Slack credentials and HOST is not a loopback address: sandbox mode is off (it would let anyone approve)');
    }
    let config: FileConfig | undefined;
    let sandbox: Sandbox | null = null;
    if (isSandbox) {
      const fromFile = existsSync(env.COUNTERSIGN_CONFIG) ? loadFileConfig(env.COUNTERSIGN_CONFIG) : null;
      const starting = startSandbox(fromFile);
      stack.push(() => starting.then((s) => s.close(), () => undefined));
      sandbox = await step(starting);
      config = sandbox.config;
      effective = { ...effective, ...sandbox.slackEnv };
    }

    say(`starting the ${[opts.api !== false && 'API', opts.workers !== false && 'workers', sandbox && 'sandbox'].filter(Boolean).join(', ')}…`);
    const starting = startCountersign(effective, {
      api: opts.api,
      workers: opts.workers,
      reconcileEveryMs: opts.reconcileEveryMs,
      ...(config ? { config } : {}),
      ...(database ? { database } : {}),
      ...(sandbox ? { mount: sandbox.mount } : {}),
    });
    // Interrupted while the app starts: once it has started, it is closed (it closes the database then).
    stack.push(() =>
      starting.then(
        (a) => {
          appOwnsDatabase = true; // its close() closes the database
          return a.close();
        },
        () => undefined,
      ),
    );
    const app = await step(starting);
    appOwnsDatabase = true;
    stack.pop();
    // The app first (it drains work through Redis and the database), then what it ran on.
    const appClose = app.close.bind(app);
    stack.push(() => appClose());
    let demoToken: string | null = null;
    if (sandbox) {
      await sandbox.listening(app.url);
      // Conveniences: if the database is not answering yet, the sandbox still starts without them.
      try {
        const reposted = await step(sandbox.repostPendingCards(app.db, redisTargetOf(effective)!, effective.COUNTERSIGN_QUEUE_PREFIX));
        if (reposted) say(`posted ${reposted} pending approval card(s) again (the sandbox's Slack starts empty on every run)`);
        const demo = await step(sandbox.ensureDemoAgent(app.db));
        if (demo) {
          demoToken = demo.token;
          say(`created the sandbox's demo agent "${demo.name}"; its token (shown once): ${demo.token}`);
        }
      } catch (err) {
        if (err instanceof StartAborted) throw err;
        logger.warn({ err }, 'sandbox: could not re-post pending cards or create the demo agent');
      }
      say(`sandbox mode (no Slack credentials): open ${app.url}/sandbox/ to approve; npm run demo plays an agent`);
    }
    stack.pop();
    const closeAll = async () => {
      sandbox?.beforeClose();
      await appClose();
      await unwind();
    };
    return { ...app, embedded: { database: Boolean(database), redis: Boolean(redis) }, sandbox, demoToken, env: effective, dataDir, close: closeAll };
  } catch (e) {
    await unwind();
    if (e instanceof StartAborted) e.settle = settle;
    throw e;
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
