import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, count, eq } from 'drizzle-orm';
import { actions } from '../../src/db/schema';
import { startCountersign, type Countersign } from '../../src/main';
import { actionRequest, startHarness, type Harness } from '../support/harness';
import { addAgent, controlsConfig, postTo } from './support';

let h: Harness;
let second: Countersign;

beforeAll(async () => {
  h = await startHarness({ configFor: (url) => controlsConfig(url), start: { workers: false } });
  second = await startCountersign(h.env, { config: h.app.config, workers: false });
});
afterAll(async () => {
  await second?.close();
  await h?.close();
});

async function actionsWithKey(agentId: string, key: string): Promise<number> {
  const [row] = await h.db.db.select({ n: count() }).from(actions).where(and(eq(actions.agentId, agentId), eq(actions.idempotencyKey, key)));
  return row!.n;
}

describe('idempotency keys', () => {
  it('returns the original response, marked as a replay, for the same key and payload', async () => {
    const body = actionRequest();
    const first = await h.post(body);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const again = await h.post(body);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await actionsWithKey(h.agentId, body.idempotency_key as string)).toBe(1);
  });

  it('replays a refusal recorded as an action (a policy denial) as it was', async () => {
    const body = actionRequest({ params: { name: 'n', target_count: 40 } });
    const first = await h.post(body);
    expect(first.status).toBe(403);
    const again = await h.post(body);
    expect(again.status).toBe(403);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
  });

  it('refuses the same key with a different payload: 409 idempotency-conflict naming the original action', async () => {
    const body = actionRequest();
    const first = await h.post(body);
    const conflict = await h.post({ ...body, params: { ...(body.params as object), name: 'something-else' } });
    expect(conflict.status).toBe(409);
    expect(conflict.body).toMatchObject({ code: 'idempotency-conflict', retryable: false, action_id: first.body.id });
    expect(await actionsWithKey(h.agentId, body.idempotency_key as string)).toBe(1);
  });

  it('scopes keys to the agent: another agent may use the same key', async () => {
    const other = await addAgent(h);
    const body = actionRequest();
    const mine = await h.post(body);
    const theirs = await postTo(h.app.url, other.token, body);
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
  });

  it('turns concurrent requests with one key, on two instances, into exactly one action', async () => {
    const body = actionRequest();
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => postTo(i % 2 ? second.url : h.app.url, h.token, body)));
    expect(results.map((r) => r.status)).toEqual(Array(16).fill(201));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(15);
    expect(await actionsWithKey(h.agentId, body.idempotency_key as string)).toBe(1);
  });

  it('gives concurrent conflicting requests one action and 409s for the rest', async () => {
    const body = actionRequest();
    const variants = Array.from({ length: 8 }, (_, i) => ({ ...body, justification: `variant ${i}` }));
    const results = await Promise.all(variants.map((v) => h.post(v)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409).every((r) => r.body.code === 'idempotency-conflict')).toBe(true);
    expect(results.filter((r) => r.status === 409)).toHaveLength(7);
    expect(await actionsWithKey(h.agentId, body.idempotency_key as string)).toBe(1);
  });

  it('keeps keys with their actions (never deleted), so a replay days later still answers', async () => {
    const body = actionRequest();
    const first = await h.post(body);
    // Age the action by two days: keys are kept as long as actions are (forever), well past 24 hours.
    await h.db.db.update(actions).set({ createdAt: new Date(Date.now() - 2 * 86400_000) }).where(eq(actions.id, first.body.id));
    const again = await h.post(body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
  });
});
