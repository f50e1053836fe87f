import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from '../../src/config/env';
import { startLocal, type Running } from '../../src/embedded/start';
import { createTestDb, type TestDb } from '../support/db';
import { REDIS_URL, deletePrefix, uniquePrefix } from '../support/redis';

export type SandboxInstance = {
  app: Running;
  db: TestDb;
  token: string;
  post(body: Record<string, unknown>, token?: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
};

/**
 * A Countersign in sandbox mode (no Slack credentials, no countersign.yaml) on a private test database and
 * Redis prefix: the built-in emulator, the /sandbox page, the demo executor and the demo agent.
 */
export async function startSandboxInstance(extraEnv: Record<string, string> = {}): Promise<SandboxInstance> {
  const db = await createTestDb();
  const prefix = uniquePrefix('sandbox');
  const dir = mkdtempSync(join(tmpdir(), 'cs-sandbox-'));
  const env = parseEnv({
    DATABASE_URL: db.url,
    REDIS_URL,
    PORT: '0',
    COUNTERSIGN_QUEUE_PREFIX: prefix,
    COUNTERSIGN_POLICIES: 'policies',
    COUNTERSIGN_CONFIG: join(dir, 'absent.yaml'),
    COUNTERSIGN_DATA_DIR: dir,
    ...extraEnv,
  });
  const lines: string[] = [];
  const app = await startLocal(env, { migrate: false, say: (l) => lines.push(l) });
  if (!app.demoToken) throw new Error(`no demo agent was created: ${lines.join('\n')}`);
  const token = app.demoToken;
  return {
    app,
    db,
    token,
    async post(body, t = token) {
      const res = await fetch(`${app.url}/v1/actions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t}` },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    },
    async close() {
      await app.close();
      await db.drop();
      await deletePrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let n = 0;
export function escalatedRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  n++;
  return {
    action_class: 'external_automation.workflow.create',
    params: { name: `nightly-sync-${n}`, schedule: '0 3 * * *', target_count: 3 },
    idempotency_key: `sbx-${Date.now()}-${n}-${Math.random().toString(36).slice(2)}`,
    justification: 'Create the nightly sync workflow for the data team.',
    ...overrides,
  };
}
