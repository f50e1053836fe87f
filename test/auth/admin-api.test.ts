import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditEvents } from '../../src/db/schema';
import { createAdminCredential } from '../../src/auth/admin';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { actionRequest, startHarness, type Harness } from '../support/harness';
import { ADMIN_BOOTSTRAP, admin, controlsConfig, postTo } from '../controls/support';

let h: Harness;
let operatorToken: string;
let operatorId: string;

beforeAll(async () => {
  h = await startHarness({ configFor: (url) => controlsConfig(url), start: { workers: false }, env: { COUNTERSIGN_ADMIN_TOKEN: ADMIN_BOOTSTRAP } });
  const created = await createAdminCredential(h.db.db, 'sec-oncall', 'admin:bootstrap');
  operatorToken = created.token;
  operatorId = created.admin.id;
});
afterAll(async () => {
  await h?.close();
});

const read = () => actionRequest({ action_class: 'external_automation.read.jobs', context: {} });

describe('/v1/admin security', () => {
  it('needs an admin credential: none is 401, an agent token is 403, a revoked or unknown admin token is 403', async () => {
    const none = await admin(h.app.url, 'GET', '/agents', undefined, '');
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('unauthenticated');
    const agentToken = await admin(h.app.url, 'GET', '/agents', undefined, h.token);
    expect(agentToken.status).toBe(403);
    expect(agentToken.body.code).toBe('forbidden');
    expect((await admin(h.app.url, 'POST', '/agents/deploy-bot/kill', {}, h.token)).status).toBe(403);
    expect((await admin(h.app.url, 'GET', '/agents', undefined, 'csadm_notarealtoken')).status).toBe(403);
    // Nothing happened to the agent.
    expect((await h.post(read())).status).toBe(201);
  });
});

describe('/v1/admin agents', () => {
  it('creates an agent (token shown once), lists it, and shows its tokens without hashes', async () => {
    const created = await admin(h.app.url, 'POST', '/agents', { name: 'refund-bot', owner: 'payments', scopes: ['external_automation.read.*'], rate_limit_per_minute: 30 }, operatorToken);
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^csa_/);
    expect(created.body.agent).toMatchObject({ name: 'refund-bot', owner: 'payments', scopes: ['external_automation.read.*'], status: 'active', rate_limit_per_minute: 30 });
    expect((await postTo(h.app.url, created.body.token, read())).status).toBe(201);

    const list = await admin(h.app.url, 'GET', '/agents', undefined, operatorToken);
    expect(list.body.agents.map((a: { name: string }) => a.name)).toEqual(expect.arrayContaining(['deploy-bot', 'refund-bot']));
    const one = await admin(h.app.url, 'GET', '/agents/refund-bot', undefined, operatorToken);
    expect(one.body.tokens).toHaveLength(1);
    expect(one.body.tokens[0]).toMatchObject({ live: true, created_by: `admin:${operatorId}` });
    expect(JSON.stringify(one.body)).not.toContain(created.body.token.slice(10));
    expect(JSON.stringify(one.body)).not.toMatch(/hash/);

    const [evt] = await h.db.db.select().from(auditEvents).where(and(eq(auditEvents.agentId, created.body.agent.id), eq(auditEvents.type, 'agent.created')));
    expect(evt!.actor).toBe(`admin:${operatorId}`);
    expect(evt!.data).toMatchObject({ name: 'refund-bot', owner: 'payments', rate_limit_per_minute: 30, issued: { id: one.body.tokens[0].id } });
  });

  it('rotates with a grace and revokes, audited with the operator', async () => {
    const created = await admin(h.app.url, 'POST', '/agents', { name: 'ops-bot', scopes: ['external_automation.*'] }, operatorToken);
    const old = created.body.token;
    const rotated = await admin(h.app.url, 'POST', '/agents/ops-bot/rotate', { grace: '10m' }, operatorToken);
    expect(rotated.status).toBe(201);
    expect(rotated.body.previous).toHaveLength(1);
    expect((await postTo(h.app.url, old, read())).status).toBe(201);
    expect((await postTo(h.app.url, rotated.body.token, read())).status).toBe(201);

    const revoked = await admin(h.app.url, 'POST', '/agents/ops-bot/revoke', { reason: 'rotation drill' }, operatorToken);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked).toHaveLength(2);
    expect((await postTo(h.app.url, old, read())).status).toBe(401);
    expect((await postTo(h.app.url, rotated.body.token, read())).status).toBe(401);

    const events = await h.db.db.select().from(auditEvents).where(eq(auditEvents.agentId, created.body.agent.id)).orderBy(auditEvents.seq);
    expect(events.filter((e) => ['agent.token_rotated', 'agent.tokens_revoked'].includes(e.type)).map((e) => e.actor)).toEqual([`admin:${operatorId}`, `admin:${operatorId}`]);
  });

  it('kills and resumes over HTTP with the bootstrap credential', async () => {
    const created = await admin(h.app.url, 'POST', '/agents', { name: 'loop-bot', scopes: ['external_automation.*'] });
    const pending = await postTo(h.app.url, created.body.token, actionRequest());
    const killed = await admin(h.app.url, 'POST', '/agents/loop-bot/kill', { reason: 'looping' });
    expect(killed.status).toBe(200);
    expect(killed.body).toMatchObject({ by: 'admin:bootstrap', cancelled: [pending.body.id], cards: [pending.body.id] });
    expect((await postTo(h.app.url, created.body.token, read())).status).toBe(401);
    const resumed = await admin(h.app.url, 'POST', '/agents/loop-bot/resume');
    expect(resumed.body).toMatchObject({ agent: { name: 'loop-bot', status: 'active' }, was_suspended: true });
    const fresh = await admin(h.app.url, 'POST', '/agents/loop-bot/rotate', { grace: '0' });
    expect((await postTo(h.app.url, fresh.body.token, read())).status).toBe(201);
  });

  it('changes scopes and the rate limit, effective on the next request, audited before and after', async () => {
    const created = await admin(h.app.url, 'POST', '/agents', { name: 'narrow-bot', scopes: ['external_automation.*'] }, operatorToken);
    const token = created.body.token;
    expect((await postTo(h.app.url, token, actionRequest())).status).toBe(201);
    const patched = await admin(h.app.url, 'PATCH', '/agents/narrow-bot', { scopes: ['external_automation.read.*'], rate_limit_per_minute: 7 }, operatorToken);
    expect(patched.body).toMatchObject({ scopes: ['external_automation.read.*'], rate_limit_per_minute: 7 });
    expect((await postTo(h.app.url, token, actionRequest())).body.code).toBe('out-of-scope');
    const ok = await postTo(h.app.url, token, read());
    expect(ok.status).toBe(201);
    expect(ok.headers.get('ratelimit-policy')).toBe('"agent";q=7;w=60');
    const [evt] = await h.db.db.select().from(auditEvents).where(and(eq(auditEvents.agentId, created.body.agent.id), eq(auditEvents.type, 'agent.updated')));
    expect(evt).toMatchObject({ actor: `admin:${operatorId}`, data: { before: { scopes: ['external_automation.*'], rate_limit_per_minute: null }, after: { rate_limit_per_minute: 7 } } });
    expect((await admin(h.app.url, 'PATCH', '/agents/narrow-bot', {}, operatorToken)).status).toBe(422);
    expect((await admin(h.app.url, 'PATCH', '/agents/narrow-bot', { scopes: ['nope'] }, operatorToken)).status).toBe(422);
  });

  it('answers bad input with problems: 422 for invalid bodies and graces, 404 for unknown agents, 409 for a taken name', async () => {
    expect((await admin(h.app.url, 'POST', '/agents', { name: 'x', scopes: [] })).body.code).toBe('validation-failed');
    expect((await admin(h.app.url, 'POST', '/agents', { name: 'x', scopes: ['bad glob'] })).status).toBe(422);
    expect((await admin(h.app.url, 'POST', '/agents', { name: 'deploy-bot', scopes: ['a.b'] })).status).toBe(409);
    expect((await admin(h.app.url, 'POST', '/agents/deploy-bot/rotate', { grace: 'later' })).status).toBe(422);
    expect((await admin(h.app.url, 'POST', '/agents/deploy-bot/rotate', { grace: '15m', extra: 1 })).status).toBe(422);
    const missing = await admin(h.app.url, 'POST', '/agents/nobody/kill', {});
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('not-found');
    expect((await admin(h.app.url, 'GET', '/agents/nobody')).status).toBe(404);
  });
});

describe('CLI: admins create / revoke', () => {
  async function cli(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    const io: CliIo = { stdout: (x) => void out.push(x), stderr: (x) => void err.push(x), readStdin: async () => '' };
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = h.db.url;
    try {
      return { code: await runCli(args, io), stdout: out.join('\n'), stderr: err.join('\n') };
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = saved;
    }
  }

  it('issues an operator credential that works on /v1/admin, and revokes it at once', async () => {
    const created = await cli(['admins', 'create', 'night-shift', '--json']);
    expect(created.code).toBe(0);
    const { token, admin: who } = JSON.parse(created.stdout);
    expect(token).toMatch(/^csadm_/);
    expect((await admin(h.app.url, 'GET', '/agents', undefined, token)).status).toBe(200);
    expect((await cli(['admins', 'create', 'night-shift'])).code).toBe(1);
    expect((await cli(['admins', 'revoke', 'night-shift'])).code).toBe(0);
    expect((await cli(['agents', 'set', 'deploy-bot', '--rate-limit', '3', '--json'])).stdout).toContain('"rate_limit_per_minute":3');
    expect((await h.post(read())).headers.get('ratelimit-policy')).toBe('"agent";q=3;w=60');
    expect((await admin(h.app.url, 'GET', '/agents', undefined, token)).status).toBe(403);
    const events = await h.db.db.select().from(auditEvents).where(eq(auditEvents.type, 'admin.revoked'));
    expect(events[0]!.data).toMatchObject({ admin_id: who.id, name: 'night-shift' });
    expect(events[0]!.actor).toMatch(/^admin:cli:/);
  });
});
