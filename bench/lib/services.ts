import { createAgent } from '../../src/auth/agents';
import { createTestDb, ensureTemplate, type TestDb } from '../../test/support/db';
import { uniquePrefix } from '../../test/support/redis';
import { startPrivateRedis, type PrivateRedis } from '../../test/support/private-redis';
import { startTestExecutor } from '../../test/support/executor-server';
import { EXECUTOR_SECRET } from '../../test/support/harness';
import { startBenchProcess, type BenchProcess, type ChildKind } from './bench-process';
import { cpuMeter } from './cpu-meter';

export { EXECUTOR_SECRET };

/**
 * A private database (cloned from the migrated template) on the machine's shared PostgreSQL, and a private
 * Redis server, for one benchmark: every side of it (Countersign and its baselines) uses these same services.
 * Redis is private so that its CPU time is the benchmark's alone; PostgreSQL's is counted per backend of the
 * benchmark's database. Each side runs as a child process (bench/lib/child.ts) at the default log level.
 */
export async function benchServices(label: string, opts: { dbPoolMax?: number } = {}) {
  await ensureTemplate();
  const db: TestDb = await createTestDb({ max: opts.dbPoolMax ?? 10 });
  const redis: PrivateRedis = await startPrivateRedis();
  const prefix = uniquePrefix(`bench-${label}`);
  const executor = await startTestExecutor(EXECUTOR_SECRET);
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    PORT: '0',
    COUNTERSIGN_QUEUE_PREFIX: prefix,
    COUNTERSIGN_POLICIES: 'policies',
    EXECUTOR_SECRET,
    // The rate limit is checked on every request (its cost is measured) but never bites.
    COUNTERSIGN_RATE_LIMIT_PER_MINUTE: '100000000',
  };
  const children: BenchProcess[] = [];
  return {
    db,
    redis,
    prefix,
    executor,
    env,
    meter: cpuMeter(db.sql, redis.pid()),
    /** One side of the benchmark in its own process; stopped by close() if not before. */
    async spawn(kind: ChildKind, name: string, options: Record<string, unknown> = {}, extraEnv: Record<string, string> = {}, root?: string): Promise<BenchProcess> {
      const child = await startBenchProcess(kind, `${label}-${name}`, { ...env, ...extraEnv }, { executorUrl: executor.url, ...options }, root);
      children.push(child);
      return child;
    },
    /** The table of the one-INSERT references (bench/lib/child.ts `insert`, and `plain-worker` with `insert`). */
    async createRawInsertTable() {
      await db.sql`create table bench_raw_insert (id text primary key, agent_id text not null, body jsonb not null, created_at timestamptz not null default now())`;
    },
    async agent(name: string) {
      return createAgent(db.db, { name, owner: 'bench', scopes: ['external_automation.*'] }, 'admin:bench');
    },
    async close() {
      for (const c of children.reverse()) await c.stop().catch(() => undefined);
      await executor.close();
      await db.drop();
      await redis.close();
    },
  };
}
