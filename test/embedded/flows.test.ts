import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/config/env';
import { actions } from '../../src/db/schema';
import { startLocal, type Running } from '../../src/embedded/start';
import { SANDBOX_CHANNEL } from '../../src/sandbox/config';
import { eventually } from '../support/harness';

// The Slack flows on the embedded database: PGlite has one connection, so anything that awaited `db` inside a
// transaction would hang here instead of passing.
let app: Running;
let dir: string;
let token: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-flows-'));
  app = await startLocal(parseEnv({ PORT: '0', COUNTERSIGN_DATA_DIR: dir, COUNTERSIGN_CONFIG: join(dir, 'absent.yaml'), COUNTERSIGN_POLICIES: 'policies' }));
  token = app.demoToken!;
}, 120_000); // a first PGlite start (initdb + migrations) is slow on a busy machine
afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function escalate(key: string): Promise<{ id: string; ts: string }> {
  const res = await fetch(`${app.url}/v1/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ action_class: 'external_automation.workflow.create', params: { name: key, target_count: 3 }, idempotency_key: key }),
  });
  const body = (await res.json()) as { id: string; status: string };
  expect(body.status).toBe('pending_approval');
  const card = await app.sandbox!.emulator.waitForMessage(SANDBOX_CHANNEL.id, (m) => JSON.stringify(m.blocks ?? []).includes(body.id), { timeoutMs: 15_000 });
  return { id: body.id, ts: card.ts };
}
async function status(id: string): Promise<string> {
  const res = await fetch(`${app.url}/v1/actions/${id}`, { headers: { authorization: `Bearer ${token}` } });
  return ((await res.json()) as { status: string }).status;
}

describe('Slack flows on the embedded database', () => {
  it('Deny opens the modal, its submission records the denial with the reason, and the card says so', async () => {
    const emulator = app.sandbox!.emulator;
    const { id, ts } = await escalate('flows-deny');
    const click = await emulator.clickButton({ user: 'U0ALEX', channel: SANDBOX_CHANNEL.id, ts, actionId: 'countersign_deny' });
    expect(click.ok).toBe(true);
    const view = await emulator.waitForView((v) => v.isOpen && v.user === 'U0ALEX', { timeoutMs: 10_000 });
    const input = (view.view.blocks as Array<Record<string, any>>).find((b) => b.type === 'input')!;
    const submitted = await emulator.submitView({ user: 'U0ALEX', viewId: view.id, values: { [input.block_id]: { [input.element.action_id]: 'Not during the migration.' } } });
    expect(submitted.ok).toBe(true);
    await eventually(async () => (await status(id)) === 'denied', 15_000, 'the denial');
    await eventually(async () => JSON.stringify(emulator.message(SANDBOX_CHANNEL.id, ts)?.blocks).includes('Not during the migration.'), 15_000, 'the card update');
  });

  it('/audit shows an action\'s evidence to an auditor', async () => {
    const emulator = app.sandbox!.emulator;
    const { id } = await escalate('flows-audit');
    const res = await emulator.slashCommand({ user: 'U0ALEX', channel: SANDBOX_CHANNEL.id, command: '/audit', text: id });
    expect(res.ok).toBe(true);
    const reply = await eventually(
      async () => [...emulator.ephemerals(SANDBOX_CHANNEL.id, 'U0ALEX'), ...emulator.responseUrlPosts({ user: 'U0ALEX' }).map((p) => ({ text: JSON.stringify(p.body) }))].find((e) => JSON.stringify(e).includes(id)),
      15_000,
      'the /audit reply',
    );
    expect(JSON.stringify(reply)).toContain(id);
  });

  it('/countersign kill by an admin cancels the agent\'s pending actions and shuts its token out', async () => {
    const emulator = app.sandbox!.emulator;
    const { id } = await escalate('flows-kill');
    const res = await emulator.slashCommand({ user: 'U0ALEX', channel: SANDBOX_CHANNEL.id, command: '/countersign', text: 'kill demo-agent' });
    expect(res.ok).toBe(true);
    await eventually(async () => {
      const r = await fetch(`${app.url}/v1/actions/${id}`, { headers: { authorization: `Bearer ${token}` } });
      return r.status === 401;
    }, 15_000, 'the token to be shut out');
    const [row] = await app.db.select({ status: actions.status }).from(actions).where(eq(actions.id, id));
    expect(row?.status).toBe('cancelled');
    expect((await fetch(`${app.url}/readyz`)).status).toBe(200);
  });
});
