import { parseFileConfig, type FileConfig } from '../../src/config/file-config';
import { createAgent } from '../../src/auth/agents';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, EXECUTOR_SECRET, type Harness } from '../support/harness';

export const ADMIN_BOOTSTRAP = 'test-admin-bootstrap-token-0123456789';
export const ADMIN_SLACK_USER = 'U0ADMIN01';

/**
 * countersign.yaml for the control tests: the automation executor (optionally with contracts and
 * dry-run support), an optional second executor, budgets, and an admins group.
 */
export function controlsConfig(
  executorUrl: string,
  opts: { contracts?: string; supportsDryRun?: boolean; executors?: string; budgets?: string } = {},
): FileConfig {
  return parseFileConfig(
    `
approver_groups:
  automation-ops: { channel: ${AUTOMATION_OPS_CHANNEL}, members: [${ALICE}, ${BOB}] }
admins: { members: [${ADMIN_SLACK_USER}] }
executors:
${opts.executors ?? ''}
  - name: automation
    action_classes: ["external_automation.*"]
    url: ${executorUrl}
    secret: \${EXECUTOR_SECRET}
    max_attempts: 3
    timeout_ms: 2000
    supports_dry_run: ${opts.supportsDryRun ? 'true' : 'false'}
${opts.contracts ? `    contracts:\n${opts.contracts}` : ''}
${opts.budgets ? `budgets:\n${opts.budgets}` : ''}
`,
    { EXECUTOR_SECRET },
  );
}

let n = 0;
/** Another agent on the harness's database (own token, own limits). */
export async function addAgent(h: Harness, o: { scopes?: string[]; rateLimitPerMinute?: number | null; name?: string } = {}) {
  n++;
  return createAgent(
    h.db.db,
    { name: o.name ?? `agent-${n}-${Math.random().toString(36).slice(2, 8)}`, owner: 'test', scopes: o.scopes ?? ['external_automation.*'], rateLimitPerMinute: o.rateLimitPerMinute ?? null },
    'admin:test',
  );
}

/** POST to any instance's intake with any token. */
export async function postTo(baseUrl: string, token: string, body: unknown): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${baseUrl}/v1/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** Calls the admin API of an instance. */
export async function admin(baseUrl: string, method: string, path: string, body?: unknown, token = ADMIN_BOOTSTRAP): Promise<{ status: number; body: any }> {
  const res = await fetch(`${baseUrl}/v1/admin${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}
