import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/config/env';
import { startLocal } from '../../src/embedded/start';
import { signBody, SIGNATURE_HEADER } from '../../src/executor/signature';
import { agents } from '../../src/db/schema';
import { SANDBOX_CHANNEL } from '../../src/sandbox/config';
import { eventually } from '../support/harness';
import { createTestDb } from '../support/db';
import { REDIS_URL, deletePrefix, uniquePrefix } from '../support/redis';
import { escalatedRequest, startSandboxInstance, type SandboxInstance } from './support';

let h: SandboxInstance;
beforeAll(async () => {
  h = await startSandboxInstance();
});
afterAll(async () => {
  await h?.close();
});

/** Response bodies in these tests are read loosely; the assertions say what must be there. */
const read = async (res: Response | Promise<Response>): Promise<any> => (await res).json();
const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

async function cardFor(actionId: string) {
  const emulator = h.app.sandbox!.emulator;
  return emulator.waitForMessage(SANDBOX_CHANNEL.id, (m) => JSON.stringify(m.blocks ?? []).includes(actionId), { timeoutMs: 10_000 });
}

describe('sandbox page', () => {
  it('serves the page, its assets and a JSON snapshot of the emulator', async () => {
    const redirect = await fetch(`${h.app.url}/sandbox`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/sandbox/');
    const page = await fetch(`${h.app.url}/sandbox/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('assets/sandbox.js');
    for (const asset of ['sandbox.js', 'blocks.js', 'sandbox.css']) {
      expect((await fetch(`${h.app.url}/sandbox/assets/${asset}`)).status).toBe(200);
    }
    expect((await fetch(`${h.app.url}/sandbox/assets/..%2Froutes.ts`)).status).toBe(404);
    const state = await read(fetch(`${h.app.url}/sandbox/state`));
    expect(state.channels.map((c: { name: string }) => c.name)).toEqual(['automation-ops']);
    expect(state.users.map((u: { id: string }) => u.id)).toEqual(['U0ALEX', 'U0SAM', 'U0RILEY']);
    expect(state.default_user).toBe('U0ALEX');
  });

  it('streams a change event when the app posts a card', async () => {
    const controller = new AbortController();
    const res = await fetch(`${h.app.url}/sandbox/events`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let seen = '';
    const created = await h.post(escalatedRequest());
    expect(created.status).toBe(201);
    const timer = setTimeout(() => controller.abort(), 10_000);
    try {
      while (!seen.includes('event: change')) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += new TextDecoder().decode(value);
      }
    } catch {
      /* aborted by the deadline: the assertion below says what was missing */
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    expect(seen).toContain('event: change');
  });

  it('a click on Approve is signed, reaches the Bolt handler, updates the card and the thread shows the commit', async () => {
    const created = await h.post(escalatedRequest());
    expect(created.body.status).toBe('pending_approval');
    const card = await cardFor(created.body.id);
    const res = await fetch(`${h.app.url}/sandbox/click`, json({ user: 'U0ALEX', channel: SANDBOX_CHANNEL.id, ts: card.ts, action_id: 'countersign_approve' }));
    expect(res.status).toBe(200);
    expect((await read(res)).ok).toBe(true);
    // The delivery went to the app's /slack/events with a valid Slack signature (Bolt verified it).
    const delivery = h.app.sandbox!.emulator.deliveries.at(-1)!;
    expect(delivery.status).toBe(200);
    const emulator = h.app.sandbox!.emulator;
    await eventually(async () => {
      const m = emulator.message(SANDBOX_CHANNEL.id, card.ts);
      const blocks = JSON.stringify(m?.blocks ?? []);
      return !blocks.includes('countersign_approve') && blocks.includes('U0ALEX');
    }, 10_000, 'the card to show the decision');
    const reply = await eventually(async () => emulator.thread(SANDBOX_CHANNEL.id, card.ts).find((r) => r.ts !== card.ts && /Committed/.test(JSON.stringify(r.blocks))), 10_000, 'the commit in the thread');
    expect(JSON.stringify(reply.blocks)).toContain('pretended to run external_automation.workflow.create');
    const view = await read(fetch(`${h.app.url}/v1/actions/${created.body.id}`, { headers: { authorization: `Bearer ${h.token}` } }));
    expect(view.status).toBe('committed');
  });

  it('the demo executor prepares: the card shows its preview and plan hash, and a revised plan drifts at release', async () => {
    const created = await h.post(escalatedRequest({ params: { name: 'wf', schedule: '0 3 * * *', targets: ['orders', 'invoices'] } }));
    expect(created.body.status).toBe('pending_approval');
    expect(created.body.prepared).toMatchObject({ facts: { target_count: 2 } });
    const card = await cardFor(created.body.id);
    const blocks = JSON.stringify(card.blocks);
    expect(blocks).toContain('Would run external_automation.workflow.create on orders, invoices');
    expect(blocks).toContain(created.body.plan_hash.slice(0, 16));
    expect(blocks).toContain('2 targets (from the executor)');
    expect((await read(fetch(`${h.app.url}/sandbox/executor/revise`, { method: 'POST' }))).revision).toBeGreaterThan(1);
    await fetch(`${h.app.url}/sandbox/click`, json({ user: 'U0ALEX', channel: SANDBOX_CHANNEL.id, ts: card.ts, action_id: 'countersign_approve' }));
    await eventually(async () => {
      const view = await read(fetch(`${h.app.url}/v1/actions/${created.body.id}`, { headers: { authorization: `Bearer ${h.token}` } }));
      return view.status === 'plan_drift' ? view : null;
    }, 15_000, 'plan_drift');
    const emulator = h.app.sandbox!.emulator;
    await eventually(async () => emulator.thread(SANDBOX_CHANNEL.id, card.ts).find((r) => /Not executed/.test(JSON.stringify(r.blocks))), 10_000, 'the drift in the thread');
  });

  it('someone outside the approver group is told so, only they see it, and nothing is recorded', async () => {
    const created = await h.post(escalatedRequest());
    const card = await cardFor(created.body.id);
    const res = await fetch(`${h.app.url}/sandbox/click`, json({ user: 'U0RILEY', channel: SANDBOX_CHANNEL.id, ts: card.ts, action_id: 'countersign_approve' }));
    expect(res.status).toBe(200);
    const state = await eventually(async () => {
      const s = await read(fetch(`${h.app.url}/sandbox/state`));
      return s.ephemerals.some((e: { user: string }) => e.user === 'U0RILEY') ? s : null;
    }, 10_000, 'an ephemeral for riley');
    expect(state.ephemerals.every((e: { user: string }) => e.user === 'U0RILEY')).toBe(true);
    const view = await read(fetch(`${h.app.url}/v1/actions/${created.body.id}`, { headers: { authorization: `Bearer ${h.token}` } }));
    expect(view.status).toBe('pending_approval');
  });

  it('sends slash commands as Slack would and reports an unknown user as a bad request', async () => {
    const ok = await fetch(`${h.app.url}/sandbox/command`, json({ user: 'U0ALEX', channel: SANDBOX_CHANNEL.id, command: '/audit', text: 'help' }));
    expect(ok.status).toBe(200);
    const delivered = h.app.sandbox!.emulator.deliveries.at(-1)!;
    expect(delivered.kind).toBe('slash_command');
    expect(delivered.payload.command).toBe('/audit');
    const bad = await fetch(`${h.app.url}/sandbox/command`, json({ user: 'U0NOBODY', channel: SANDBOX_CHANNEL.id, command: '/audit', text: '' }));
    expect(bad.status).toBe(400);
    expect((await read(bad)).error).toMatch(/unknown user/);
  });

  it('refuses acts that are not JSON (a cross-site form cannot send them)', async () => {
    const res = await fetch(`${h.app.url}/sandbox/click`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'user=U0ALEX&channel=C&ts=1&action_id=countersign_approve',
    });
    expect(res.status).toBe(415);
    const mint = await fetch(`${h.app.url}/sandbox/demo-agent`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(mint.status).toBe(415);
  });
});

describe('DNS rebinding', () => {
  /** A request with a Host header of our choosing (fetch will not send one). */
  const withHost = (method: string, path: string, host: string, body?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(h.app.url);
      const req = request({ host: url.hostname, port: url.port, method, path, headers: { host, 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });

  it('refuses every sandbox route, and minting a token above all, under a Host that is not loopback', async () => {
    const agentsBefore = (await h.db.db.select().from(agents)).length;
    for (const host of ['evil.example', 'evil.example:3000', '127.0.0.1.evil.example', 'localhost.evil.example', '10.0.0.5']) {
      expect((await withHost('POST', '/sandbox/demo-agent', host, '{}')).status, host).toBe(403);
      expect((await withHost('GET', '/sandbox/state', host)).status, host).toBe(403);
      expect((await withHost('GET', '/sandbox/', host)).status, host).toBe(403);
    }
    expect((await h.db.db.select().from(agents)).length).toBe(agentsBefore);
  });

  it('serves loopback names with or without a port', async () => {
    const port = new URL(h.app.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'localhost', `[::1]:${port}`]) {
      expect((await withHost('GET', '/sandbox/state', host)).status, host).toBe(200);
    }
    expect((await withHost('POST', '/sandbox/demo-agent', `localhost:${port}`, '{}')).status).toBe(201);
  });
});

describe('the demo executor', () => {
  const call = (headers: Record<string, string>, body: string) => fetch(`${h.app.url}/sandbox/executor`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('refuses an unsigned or wrongly signed request', async () => {
    const body = JSON.stringify({ action_id: 'act_x', action_class: 'external_automation.read.jobs', params: {} });
    expect((await call({}, body)).status).toBe(401);
    expect((await call({ [SIGNATURE_HEADER]: signBody('not-the-secret-at-all', body) }, body)).status).toBe(401);
  });

  it('answers a signed request with what it pretended to do, and the same answer for the same idempotency key', async () => {
    const secret = h.app.config.executors.find((e) => e.name === 'sandbox')!.secret;
    const body = JSON.stringify({ action_id: 'act_y', action_class: 'external_automation.read.jobs', params: { a: 1 }, payload_hash: 'h' });
    const first = await call({ [SIGNATURE_HEADER]: signBody(secret, body), 'idempotency-key': 'act_y' }, body);
    expect(first.status).toBe(200);
    const a = await read(first);
    expect(a.did).toContain('external_automation.read.jobs');
    const again = await (await call({ [SIGNATURE_HEADER]: signBody(secret, body), 'idempotency-key': 'act_y' }, body)).json();
    expect(again).toEqual(a);
  });
});

describe('outside sandbox mode', () => {
  it('is not turned on without Slack when HOST is not a loopback address (the page would let anyone approve)', async () => {
    const db = await createTestDb();
    const prefix = uniquePrefix('nonloop');
    const dir = mkdtempSync(join(tmpdir(), 'cs-nonloop-'));
    const configPath = join(dir, 'countersign.yaml');
    writeFileSync(configPath, 'approver_groups:\n  automation-ops: { channel: C0OPS, members: [U0ALEX] }\n');
    const app = await startLocal(
      parseEnv({ DATABASE_URL: db.url, REDIS_URL, PORT: '0', HOST: '0.0.0.0', COUNTERSIGN_QUEUE_PREFIX: prefix, COUNTERSIGN_CONFIG: configPath, COUNTERSIGN_DATA_DIR: dir }),
      { migrate: false },
    );
    try {
      // Ready (database and Redis answering) before anything else, so closing does not race start-up work.
      await eventually(async () => (await fetch(`http://127.0.0.1:${app.port}/readyz`)).status === 200, 10_000, 'readiness');
      expect(app.sandbox).toBeNull();
      expect((await fetch(`http://127.0.0.1:${app.port}/sandbox/state`)).status).toBe(404);
    } finally {
      await app.close();
      await db.drop();
      await deletePrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has no /sandbox page, state, events or executor when Slack is configured', async () => {
    const db = await createTestDb();
    const prefix = uniquePrefix('nosandbox');
    const dir = mkdtempSync(join(tmpdir(), 'cs-nosandbox-'));
    const configPath = join(dir, 'countersign.yaml');
    writeFileSync(
      configPath,
      'approver_groups:\n  automation-ops: { channel: C0OPS, members: [U0ALEX] }\nexecutors:\n  - name: real\n    action_classes: ["external_automation.*"]\n    url: http://127.0.0.1:9/execute\n    secret: a-real-executor-secret-0123\n',
    );
    const app = await startLocal(
      parseEnv({
        DATABASE_URL: db.url,
        REDIS_URL,
        PORT: '0',
        COUNTERSIGN_QUEUE_PREFIX: prefix,
        COUNTERSIGN_CONFIG: configPath,
        COUNTERSIGN_DATA_DIR: dir,
        SLACK_BOT_TOKEN: 'xoxb-real-looking-token',
        SLACK_SIGNING_SECRET: 'a-real-signing-secret',
        SLACK_API_URL: 'http://127.0.0.1:9/api/',
      }),
      { migrate: false },
    );
    try {
      await eventually(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 'readiness');
      expect(app.sandbox).toBeNull();
      expect(app.demoToken).toBeNull();
      for (const path of ['/sandbox', '/sandbox/', '/sandbox/state', '/sandbox/events']) {
        expect((await fetch(`${app.url}${path}`)).status, path).toBe(404);
      }
      expect((await fetch(`${app.url}/sandbox/click`, json({}))).status).toBe(404);
      expect((await fetch(`${app.url}/sandbox/executor`, json({}))).status).toBe(404);
    } finally {
      await app.close();
      await db.drop();
      await deletePrefix(prefix);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
