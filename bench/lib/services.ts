import { parseEnv, type Env } from '../../src/config/env';
import { createAgent } from '../../src/auth/agents';
import { startCountersign, type Countersign, type StartOptions } from '../../src/main';
import { createTestDb, ensureTemplate, type TestDb } from '../../test/support/db';
import { REDIS_URL, deletePrefix, uniquePrefix } from '../../test/support/redis';
import { startTestExecutor } from '../../test/support/executor-server';
import { EXECUTOR_SECRET, testConfig } from '../../test/support/harness';

export { REDIS_URL, EXECUTOR_SECRET };

/**
 * A private database (cloned from the migrated template) and Redis prefix for one benchmark, on the machine's
 * shared PostgreSQL and Redis — the same services the baselines use.
 */
export async function benchServices(label: string, opts: { dbPoolMax?: number } = {}) {
  await ensureTemplate();
  const db: TestDb = await createTestDb({ max: opts.dbPoolMax ?? 10 });
  const prefix = uniquePrefix(`bench-${label}`);
  const executor = await startTestExecutor(EXECUTOR_SECRET);
  const config = testConfig(executor.url);
  const env = (extra: Record<string, string> = {}): Env =>
    parseEnv({
      DATABASE_URL: db.url,
      REDIS_URL,
      PORT: '0',
      COUNTERSIGN_QUEUE_PREFIX: prefix,
      COUNTERSIGN_POLICIES: 'policies',
      // The rate limit is checked on every request (its cost is measured) but never bites.
      COUNTERSIGN_RATE_LIMIT_PER_MINUTE: '100000000',
      LOG_LEVEL: 'silent',
      ...extra,
    });
  const apps: Countersign[] = [];
  return {
    db,
    prefix,
    executor,
    config,
    env,
    async start(extraEnv: Record<string, string> = {}, start: StartOptions = {}): Promise<Countersign> {
      const app = await startCountersign(env(extraEnv), { config, ...start });
      apps.push(app);
      return app;
    },
    async agent(name: string) {
      return createAgent(db.db, { name, owner: 'bench', scopes: ['external_automation.*'] }, 'admin:bench');
    },
    async close() {
      for (const a of apps.reverse()) await a.close().catch(() => undefined);
      await executor.close();
      await db.drop();
      await deletePrefix(prefix);
    },
  };
}
