import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Env } from '../config/env';
import { loadFileConfig, type FileConfig } from '../config/file-config';
import type { DbConnection } from '../db/client';
import { runMigrations } from '../db/migrate';
import { logger } from '../lib/logger';
import { startCountersign, type Countersign, type StartOptions } from '../main';
import { startSandbox, type Sandbox } from '../sandbox';
import { claimDataDir } from './data-dir';
import { openEmbeddedDatabase } from './database';
import { startPrivateRedis, type PrivateRedis } from './redis-server';
import { redisTargetOf } from '../queue/redis-target';

export type LocalOptions = Pick<StartOptions, 'api' | 'workers' | 'reconcileEveryMs'> & {
  /** Run migrations against DATABASE_URL first (the embedded database is always migrated). Default true. */
  migrate?: boolean;
  /** PATH searched for redis-server (default: the process's). */
  path?: string;
  /** Where start-up lines for a person go (the URL, the demo agent's token). */
  say?: (line: string) => void;
};

export type Running = Countersign & {
  /** What was started for want of configuration. */
  embedded: { database: boolean; redis: boolean };
  sandbox: Sandbox | null;
  /** Token of the demo agent created on a sandbox's first start (null otherwise). */
  demoToken: string | null;
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
    for (const stop of stack.reverse()) await Promise.resolve(stop()).catch((err) => logger.warn({ err }, 'error while stopping'));
    stack.length = 0;
  };
  try {
    let effective: Env = env;
    if (!env.DATABASE_URL || !redisTargetOf(env)) {
      const lock = claimDataDir(dataDir);
      stack.push(() => lock.release());
    }
    // Redis first: when it cannot be had, say so before spending seconds on the database.
    let redis: PrivateRedis | null = null;
    if (!redisTargetOf(env)) {
      redis = await startPrivateRedis(join(dataDir, 'redis'), { path: opts.path });
      stack.push(() => redis!.stop());
      effective = { ...effective, REDIS_URL: redis.url };
      logger.info({ url: redis.url, dir: join(dataDir, 'redis') }, 'started a private redis-server (no REDIS_URL)');
    }
    let database: DbConnection | undefined;
    let appOwnsDatabase = false;
    if (!env.DATABASE_URL) {
      database = await openEmbeddedDatabase(join(dataDir, 'pgdata'));
      // Until the app has it; from then on the app's close() closes it.
      stack.push(() => (appOwnsDatabase ? undefined : database!.close()));
      logger.info({ dir: join(dataDir, 'pgdata') }, 'opened the embedded PostgreSQL (no DATABASE_URL)');
    } else if (opts.migrate !== false) {
      await runMigrations(env.DATABASE_URL);
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
      sandbox = await startSandbox(fromFile);
      stack.push(() => sandbox!.close());
      config = sandbox.config;
      effective = { ...effective, ...sandbox.slackEnv };
    }

    const app = await startCountersign(effective, {
      api: opts.api,
      workers: opts.workers,
      reconcileEveryMs: opts.reconcileEveryMs,
      ...(config ? { config } : {}),
      ...(database ? { database } : {}),
      ...(sandbox ? { mount: sandbox.mount } : {}),
    });
    appOwnsDatabase = true;
    // The app first (it drains work through Redis and the database), then what it ran on.
    const appClose = app.close.bind(app);
    let demoToken: string | null = null;
    if (sandbox) {
      await sandbox.listening(app.url);
      // Conveniences: if the database is not answering yet, the sandbox still starts without them.
      try {
        const reposted = await sandbox.repostPendingCards(app.db, redisTargetOf(effective)!, effective.COUNTERSIGN_QUEUE_PREFIX);
        if (reposted) say(`posted ${reposted} pending approval card(s) again (the sandbox's Slack starts empty on every run)`);
        const demo = await sandbox.ensureDemoAgent(app.db);
        if (demo) {
          demoToken = demo.token;
          say(`created the sandbox's demo agent "${demo.name}"; its token (shown once): ${demo.token}`);
        }
      } catch (err) {
        logger.warn({ err }, 'sandbox: could not re-post pending cards or create the demo agent');
      }
      say(`sandbox mode (no Slack credentials): open ${app.url}/sandbox to approve; npm run demo plays an agent`);
    }
    const closeAll = async () => {
      sandbox?.beforeClose();
      await appClose();
      await unwind();
    };
    return { ...app, embedded: { database: Boolean(database), redis: Boolean(redis) }, sandbox, demoToken, close: closeAll };
  } catch (e) {
    await unwind();
    throw e;
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
