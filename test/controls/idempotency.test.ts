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

describe('the Idempotency-Key request header', () => {
  const withoutKey = () => {
    const { idempotency_key: key, ...rest } = actionRequest();
    return { key: key as string, rest };
  };

  it('works as the body field: the first request creates, a retry with the header replays', async () => {
    const { key, rest } = withoutKey();
    const first = await h.post(rest, { headers: { 'idempotency-key': key } });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.idempotency_key).toBe(key);
    const again = await h.post(rest, { headers: { 'idempotency-key': key } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    // The body field and the header are one key: a retry that moves it into the body still replays.
    const viaBody = await h.post({ ...rest, idempotency_key: key });
    expect(viaBody.body.id).toBe(first.body.id);
    expect(await actionsWithKey(h.agentId, key)).toBe(1);
  });

  it('accepts the draft’s structured-field string form ("…")', async () => {
    const { key, rest } = withoutKey();
    const res = await h.post(rest, { headers: { 'idempotency-key': `"${key}"` } });
    expect(res.status).toBe(201);
    expect(res.body.idempotency_key).toBe(key);
  });

  it('accepts the same key in both places', async () => {
    const { key, rest } = withoutKey();
    const res = await h.post({ ...rest, idempotency_key: key }, { headers: { 'idempotency-key': key } });
    expect(res.status).toBe(201);
  });

  it('refuses a header and a body field that differ with 422, and records nothing', async () => {
    const { key, rest } = withoutKey();
    const res = await h.post({ ...rest, idempotency_key: key }, { headers: { 'idempotency-key': `${key}-other` } });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'validation-failed', retryable: false, errors: [{ path: 'idempotency_key' }] });
    expect(await actionsWithKey(h.agentId, key)).toBe(0);
    expect(await actionsWithKey(h.agentId, `${key}-other`)).toBe(0);
  });

  it('validates a header key like a body key (printable ASCII, at most 255)', async () => {
    const { rest } = withoutKey();
    const long = await h.post(rest, { headers: { 'idempotency-key': 'k'.repeat(256) } });
    expect(long.status).toBe(422);
    expect(long.body.errors[0].path).toBe('idempotency_key');
    const missing = await h.post(rest);
    expect(missing.status).toBe(422);
    expect(missing.body.errors.map((e: { path: string }) => e.path)).toContain('idempotency_key');
  });
});
