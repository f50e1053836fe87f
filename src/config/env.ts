import { z } from 'zod';

/**
 * The one place that reads process.env. Parsed once at start-up; every problem is reported
 * on its own line so an operator can fix them all in one go.
 */
export const envSchema = z.object({
  DATABASE_URL: z.string().url().optional(),
  REDIS_URL: z.string().url().optional(),
  /**
   * Redis through Sentinel instead of REDIS_URL: the sentinels as host:port,host:port and the name of the
   * group they monitor (docs/operations.md, "Redis Sentinel"). REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD when
   * the servers and the sentinels require one.
   */
  REDIS_SENTINELS: z
    .string()
    .transform((v, ctx) => {
      const list = v.split(',').map((s) => s.trim()).filter(Boolean);
      const parsed = list.map((entry) => /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(entry));
      if (list.length === 0 || parsed.some((m) => !m || Number(m[2]) > 65535)) {
        ctx.addIssue({ code: 'custom', message: 'must be host:port pairs separated by commas (e.g. 10.0.0.1:26379,10.0.0.2:26379)' });
        return z.NEVER;
      }
      return parsed.map((m) => ({ host: m![1]!.replace(/^\[|\]$/g, ''), port: Number(m![2]) }));
    })
    .optional(),
  REDIS_SENTINEL_NAME: z.string().min(1).optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  SLACK_BOT_TOKEN: z.string().startsWith('xoxb-', 'must be a bot token (xoxb-…)').optional(),
  SLACK_SIGNING_SECRET: z.string().min(8).optional(),
  SLACK_APP_TOKEN: z.string().startsWith('xapp-', 'must be an app-level token (xapp-…)').optional(),
  SLACK_API_URL: z.string().url().default('https://slack.com/api/'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  COUNTERSIGN_CONFIG: z.string().default('countersign.yaml'),
  COUNTERSIGN_POLICIES: z.string().default('policies'),
  /** A candidate policy bundle decided in shadow beside the enforced one (docs/rollout.md); unset: no shadow. */
  COUNTERSIGN_POLICIES_CANDIDATE: z.string().min(1).optional(),
  COUNTERSIGN_ADMIN_TOKEN: z.string().min(24).optional(),
  /** Encrypts the receipt signing keys at rest (docs/audit.md, "Receipt keys"); e.g. `openssl rand -base64 32`. */
  COUNTERSIGN_RECEIPT_KEY_PASSPHRASE: z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -base64 32)').optional(),
  COUNTERSIGN_PUBLIC_URL: z.string().url().optional(),
  COUNTERSIGN_QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_:-]+$/).default('countersign'),
  COUNTERSIGN_DATA_DIR: z.string().default('.countersign'),
  /** The embedded database's first start copies this cluster (default: the one npm run build made); `none`: initdb. */
  COUNTERSIGN_PGDATA_TEMPLATE: z.string().optional(),
  /** Default per-agent request rate limit (agents.rate_limit_per_minute overrides it). */
  COUNTERSIGN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().positive().default(600),
  /** Long polls (`GET /v1/actions/:id?wait=`, MCP `wait_seconds`) one agent, and all agents, may hold open per instance. */
  COUNTERSIGN_LONG_POLL_MAX_PER_AGENT: z.coerce.number().int().min(1).default(20),
  COUNTERSIGN_LONG_POLL_MAX_TOTAL: z.coerce.number().int().min(1).default(1000),
  /**
   * The wait budget: how long a request waits for PostgreSQL or Redis before it is answered 503 with
   * Retry-After (docs/operations.md, "Outages"). Also the readiness probe's deadline per check.
   */
  COUNTERSIGN_DEPENDENCY_WAIT_MS: z.coerce.number().int().min(100).max(30_000).default(1000),
  /**
   * Named (server-side) prepared statements. Turn off behind PgBouncer in transaction mode before 1.21
   * (Debian 12 ships 1.18), where a statement prepared on one server connection is unknown on the next.
   */
  COUNTERSIGN_DB_PREPARED_STATEMENTS: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /**
   * Pipelined statements (several in flight on one connection once all are busy). Turn off behind PgBouncer in
   * transaction mode before 1.21, which can lose the answer to a pipelined statement (the request then hangs).
   */
  COUNTERSIGN_DB_PIPELINING: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Read by src/lib/logger.ts when it loads: pretty lines on a terminal, JSON otherwise, unless set. */
  LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  // Release tuning (docs/release.md). Defaults suit production; the chaos tests shorten them.
  COUNTERSIGN_COMMIT_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
  /** BullMQ lock on an active commit job; a killed worker's job is picked up again after it lapses. */
  COUNTERSIGN_COMMIT_LOCK_MS: z.coerce.number().int().min(1000).default(60_000),
  COUNTERSIGN_COMMIT_STALLED_INTERVAL_MS: z.coerce.number().int().min(500).default(30_000),
  /** A claim's lease lasts the executor timeout plus this; then another worker may take the action over. */
  COUNTERSIGN_LEASE_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  COUNTERSIGN_RECONCILE_EVERY_MS: z.coerce.number().int().min(200).default(15_000),
  /** Signed audit anchors (docs/audit.md, "Anchors"): appended to this file and/or POSTed to this HTTPS URL. */
  COUNTERSIGN_ANCHOR_FILE: z.string().min(1).optional(),
  COUNTERSIGN_ANCHOR_URL: z
    .string()
    .url()
    .refine((u) => u.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//.test(u), 'must be https:// (plain http only to a loopback address)')
    .optional(),
  COUNTERSIGN_ANCHOR_EVERY_MS: z.coerce.number().int().min(100).default(300_000),
  /** On SIGTERM, in-flight executor calls get this long to finish before the process exits anyway. */
  COUNTERSIGN_SHUTDOWN_DEADLINE_MS: z.coerce.number().int().min(100).default(30_000),
});

export type Env = z.infer<typeof envSchema>;

export class EnvError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid environment:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  // Empty strings mean "unset" — common in .env files and CI matrices.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new EnvError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const env = parsed.data;
  const problems: string[] = [];
  if (env.SLACK_BOT_TOKEN && !env.SLACK_SIGNING_SECRET && !env.SLACK_APP_TOKEN) {
    problems.push('SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN in HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)');
  }
  if (env.REDIS_SENTINELS && env.REDIS_URL) problems.push('REDIS_SENTINELS: set either REDIS_URL or REDIS_SENTINELS, not both');
  if (env.REDIS_SENTINELS && !env.REDIS_SENTINEL_NAME) problems.push('REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the name the sentinels monitor, e.g. mymaster)');
  if (problems.length) throw new EnvError(problems);
  return env;
}
