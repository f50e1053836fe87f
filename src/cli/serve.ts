import { parseEnv } from '../config/env';
import { runMigrations } from '../db/migrate';
import { startCountersign } from '../main';
import { logger } from '../lib/logger';
import { parseFlags, type CliIo } from './io';

const SHUTDOWN_DEADLINE_MS = 30_000;

/** `countersign serve`: runs until SIGTERM/SIGINT, then drains in-flight work within a deadline. */
export async function serve(argv: string[], io: CliIo): Promise<number> {
  const { flags } = parseFlags(argv);
  const env = parseEnv();
  if (env.DATABASE_URL && flags.migrate !== 'false') await runMigrations(env.DATABASE_URL);
  const app = await startCountersign(env, { api: !flags['worker-only'], workers: !flags['api-only'] });
  io.stdout(`countersign listening on ${app.url}`);
  logger.info({ url: app.url }, 'countersign started');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down: no new work, finishing in-flight work');
      const deadline = setTimeout(() => {
        logger.error('shutdown deadline passed; exiting with work in flight (it will be reconciled)');
        process.exit(1);
      }, SHUTDOWN_DEADLINE_MS);
      deadline.unref();
      app.close().then(resolve, (err) => {
        logger.error({ err }, 'error during shutdown');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
