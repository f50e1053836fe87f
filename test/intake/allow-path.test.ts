// The allow path: allowed actions are written by the group-commit writer (src/intake/batch-writer.ts) in one
// intake_commit call per batch, against credentials that may come from the per-instance cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, inArray } from 'drizzle-orm';
import { actions, auditEvents } from '../../src/db/schema';
import { updateAgent } from '../../src/auth/agent-update';
import { revokeAgentTokens } from '../../src/auth/token-admin';
import { verifyChain } from '../../src/audit/verify';
import { actionRequest, eventually, startHarness, type Harness } from '../support/harness';
import { addAgent, postTo } from '../controls/support';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

const read = (extra: Record<string, unknown> = {}) => actionRequest({ action_class: 'external_automation.read.jobs', context: {}, ...extra });
const CREATION = ['action.requested', 'policy.decided', 'action.approved', 'commit.queued'];

describe('allow path: group commit', () => {
  it('a burst of concurrent requests: each recorded queued with its four events, enqueued, committed, chain intact', async () => {
    const { token } = await addAgent(h);
    const answers = await Promise.all(Array.from({ length: 40 }, () => postTo(h.app.url, token, read())));
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(201));
    expect(answers.every((a) => a.body.status === 'queued')).toBe(true);
    const ids = answers.map((a) => a.body.id as string);
    expect(new Set(ids).size).toBe(40);
    for (const id of ids) {
      expect((await h.events(id)).map((e) => e.type).slice(0, 4)).toEqual(CREATION);
    }
    await eventually(async () => {
      const rows = await h.db.db.select({ status: actions.status }).from(actions).where(inArray(actions.id, ids));
      return rows.filter((r) => r.status === 'committed').length === 40;
    }, 20_000, 'all committed');
    expect((await verifyChain(h.db.db)).break).toBeNull();
  });

  it('the same key sent concurrently: one action, every answer the same action, replays marked and not rate-counted', async () => {
    const { token } = await addAgent(h, { rateLimitPerMinute: 50 });
    const body = read();
    const answers = await Promise.all(Array.from({ length: 12 }, () => postTo(h.app.url, token, body)));
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(201));
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    const rows = await h.db.db.select().from(actions).where(eq(actions.idempotencyKey, body.idempotency_key as string));
    expect(rows).toHaveLength(1);
    expect(await h.events(rows[0]!.id, 'action.requested')).toHaveLength(1);
    // Only the one that was recorded counts against the limit.
    const after = await postTo(h.app.url, token, read());
    expect(after.headers.get('ratelimit')).toMatch(/r=48;/);
  });

  it('the same key with different payloads concurrently: one action, the rest 409 idempotency-conflict', async () => {
    const { token } = await addAgent(h);
    const key = `race-${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => postTo(h.app.url, token, read({ idempotency_key: key, params: { n: i } }))));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(7);
    expect(answers.filter((a) => a.status === 409).every((a) => a.body.code === 'idempotency-conflict')).toBe(true);
    expect(await h.db.db.select().from(actions).where(eq(actions.idempotencyKey, key))).toHaveLength(1);
  });
});

describe('allow path: cached credentials are re-checked by the write', () => {
  it('a scope narrowed after the token was cached is refused on the very next request', async () => {
    const { token, agent } = await addAgent(h);
    expect((await postTo(h.app.url, token, read())).status).toBe(201); // now cached on this instance
    await updateAgent(h.db.db, agent.name, { scopes: ['external_automation.workflow.*'] }, 'admin:test');
    const refused = await postTo(h.app.url, token, read());
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('out-of-scope');
    const evidence = await h.db.db.select().from(auditEvents).where(eq(auditEvents.agentId, agent.id));
    expect(evidence.filter((e) => e.type === 'request.refused')).toHaveLength(1);
  });

  it('a token revoked after it was cached is refused with 401 and nothing is recorded', async () => {
    const { token, agent } = await addAgent(h);
    expect((await postTo(h.app.url, token, read())).status).toBe(201);
    await revokeAgentTokens(h.db.db, agent.name, 'admin:test');
    const body = read();
    const refused = await postTo(h.app.url, token, body);
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await h.db.db.select().from(actions).where(eq(actions.idempotencyKey, body.idempotency_key as string))).toHaveLength(0);
  });

  it('an escalation on cached credentials is made only after they are read again (a suspended agent is refused)', async () => {
    const { token, agent } = await addAgent(h);
    expect((await postTo(h.app.url, token, read())).status).toBe(201);
    // Suspended without its tokens revoked: only the agent row changes.
    await h.db.sql`update agents set status = 'suspended' where id = ${agent.id}`;
    const refused = await postTo(h.app.url, token, actionRequest());
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('agent-suspended');
  });
});

describe('allow path: bad input', () => {
  it('a NUL character anywhere in the request → 422 validation-failed, nothing recorded', async () => {
    const { token } = await addAgent(h);
    const body = read({ params: { name: 'a\u0000b' } });
    const res = await postTo(h.app.url, token, body);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation-failed');
    expect(await h.db.db.select().from(actions).where(eq(actions.idempotencyKey, body.idempotency_key as string))).toHaveLength(0);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(['params.name']);
  });

  it('a NUL character in a key, or deep in an array → 422 naming where', async () => {
    const { token } = await addAgent(h);
    const inKey = await postTo(h.app.url, token, read({ context: { 'a\u0000b': 1 } }));
    expect(inKey.status).toBe(422);
    expect(inKey.body.errors.map((e: { path: string }) => e.path)).toEqual(['context.a\u0000b']);
    const deep = await postTo(h.app.url, token, read({ params: { list: ['ok', { x: 'bad\u0000' }] } }));
    expect(deep.status).toBe(422);
    expect(deep.body.errors.map((e: { path: string }) => e.path)).toEqual(['params.list.1.x']);
  });
});
