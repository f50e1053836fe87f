import { and, asc, eq } from 'drizzle-orm';
import { parseEnv, type Env } from '../../src/config/env';
import { parseFileConfig, type FileConfig } from '../../src/config/file-config';
import { createAgent } from '../../src/auth/agents';
import { auditEvents, type AuditEventRow } from '../../src/db/schema';
import { startCountersign, type Countersign, type StartOptions } from '../../src/main';
import { createTestDb, type TestDb } from './db';
import { REDIS_URL, deletePrefix, uniquePrefix } from './redis';
import { startTestExecutor } from './executor-server';

export const EXECUTOR_SECRET = 'test-executor-secret-0123456789';
export const SIGNING_SECRET = 'test-signing-secret-abcdef';
export const BOT_TOKEN = 'xoxb-test-bot-token';
export const AUTOMATION_OPS_CHANNEL = 'C0AUTOOPS';
export const ALICE = 'U0ALICE';
export const BOB = 'U0BOB';
export const MALLORY = 'U0MALLORY';

export function testConfig(executorUrl: string, extra = ''): FileConfig {
  return parseFileConfig(
    `
approver_groups:
  automation-ops: { channel: ${AUTOMATION_OPS_CHANNEL}, members: [${ALICE}, ${BOB}] }
executors:
  - name: automation
    action_classes: ["external_automation.*"]
    url: ${executorUrl}
    secret: \${EXECUTOR_SECRET}
    max_attempts: 3
    timeout_ms: 2000
${extra}`,
    { EXECUTOR_SECRET },
  );
}

export type Harness = {
  app: Countersign;
  db: TestDb;
  env: Env;
  prefix: string;
  executor: Awaited<ReturnType<typeof startTestExecutor>>;
  token: string;
  agentId: string;
  post(body: unknown, opts?: { token?: string; headers?: Record<string, string>; raw?: string }): Promise<{ status: number; body: any; headers: Headers }>;
  get(path: string, token?: string): Promise<{ status: number; body: any }>;
  /** The action's status as the agent's API reports it. */
  status(actionId: string): Promise<string>;
  /** The action's evidence events in chain order, optionally of one type. */
  events(actionId: string, type?: string): Promise<AuditEventRow[]>;
  close(): Promise<void>;
};

/** Starts a whole Countersign (API + workers) on a private database and Redis prefix. */
export async function startHarness(
  opts: {
    slackApiUrl?: string;
    env?: Record<string, string>;
    start?: StartOptions;
    scopes?: string[];
    executor?: Parameters<typeof startTestExecutor>[1];
    /** The countersign.yaml to use, given the test executor's URL (default testConfig). */
    configFor?: (executorUrl: string) => FileConfig;
    /** The URL the app connects with, given its test database's direct URL (a PgBouncer in front of it). */
    databaseUrl?: (directUrl: string) => string;
    /** A database of the test's own (on a private server) instead of a clone on the shared one; dropped by close(). */
    database?: TestDb;
  } = {},
): Promise<Harness> {
  const db = opts.database ?? (await createTestDb());
  const prefix = uniquePrefix('app');
  const executor = await startTestExecutor(EXECUTOR_SECRET, opts.executor);
  const env = parseEnv({
    DATABASE_URL: opts.databaseUrl ? opts.databaseUrl(db.url) : db.url,
    REDIS_URL,
    PORT: '0',
    COUNTERSIGN_QUEUE_PREFIX: prefix,
    COUNTERSIGN_POLICIES: 'policies',
    // Functional tests are not about the outage budget (test/chaos/outage.test.ts is): on a loaded machine a
    // 1 s wait for a connection is not an outage, so these tests give the database and Redis 10 s.
    COUNTERSIGN_DEPENDENCY_WAIT_MS: '10000',
    ...(opts.slackApiUrl ? { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: opts.slackApiUrl } : {}),
    ...opts.env,
  });
  const app = await startCountersign(env, { config: (opts.configFor ?? testConfig)(executor.url), ...opts.start });
  const { agent, token } = await createAgent(db.db, { name: 'deploy-bot', owner: 'platform', scopes: opts.scopes ?? ['external_automation.*'] }, 'admin:test');
  const post: Harness['post'] = async (body, o = {}) => {
    const res = await fetch(`${app.url}/v1/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(o.token !== '' ? { authorization: `Bearer ${o.token ?? token}` } : {}), ...o.headers },
      body: o.raw ?? JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  };
  const get: Harness['get'] = async (path, t) => {
    const res = await fetch(`${app.url}${path}`, { headers: { authorization: `Bearer ${t ?? token}` } });
    return { status: res.status, body: await res.json() };
  };
  return {
    app,
    db,
    env,
    prefix,
    executor,
    token,
    agentId: agent.id,
    post,
    get,
    status: async (actionId) => (await get(`/v1/actions/${actionId}`)).body.status as string,
    events: (actionId, type) =>
      db.db
        .select()
        .from(auditEvents)
        .where(type ? and(eq(auditEvents.actionId, actionId), eq(auditEvents.type, type)) : eq(auditEvents.actionId, actionId))
        .orderBy(asc(auditEvents.seq)),
    async close() {
      await app.close();
      await executor.close();
      await db.drop();
      await deletePrefix(prefix);
    },
  };
}

let counter = 0;
/** A valid request body; override what the test is about. */
export function actionRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  return {
    action_class: 'external_automation.workflow.create',
    params: { name: `nightly-sync-${counter}`, schedule: '0 3 * * *', target_count: 3 },
    idempotency_key: `key-${Date.now()}-${counter}-${Math.random().toString(36).slice(2)}`,
    correlation_id: `corr-${counter}-${Math.random().toString(36).slice(2)}`,
    justification: 'Create the nightly sync workflow for the data team.',
    ...overrides,
  };
}

/** Polls until `check` returns a value (not undefined/false) or the deadline passes. */
export async function eventually<T>(check: () => Promise<T | undefined | false | null>, timeoutMs = 10_000, label = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${label}${last ? `: ${(last as Error).message}` : ''}`);
}
