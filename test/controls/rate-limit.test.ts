import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { count, eq } from 'drizzle-orm';
import { actions, auditEvents } from '../../src/db/schema';
import { startCountersign, type Countersign } from '../../src/main';
import { createAction } from '../../src/intake/service';
import { createRateLimiter, enforceRateLimit } from '../../src/controls/rate-limit';
import { isProblem } from '../../src/lib/errors';
import { PolicyStore } from '../../src/policy';
import { actionRequest, startHarness, type Harness } from '../support/harness';
import { addAgent, controlsConfig, postTo } from './support';

// A read the seed policy allows: each request is cheap and needs no approval.
const read = () => actionRequest({ action_class: 'external_automation.read.jobs', context: {} });

let h: Harness;
let second: Countersign;

beforeAll(async () => {
  h = await startHarness({ configFor: (url) => controlsConfig(url), start: { workers: false } });
  // A second instance on the same database and Redis prefix, as in a two-replica deployment.
  second = await startCountersign(h.env, { config: h.app.config, workers: false });
});
afterAll(async () => {
  await second?.close();
  await h?.close();
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('per-agent rate limit', () => {
  it('counts down in RateLimit headers, then refuses with 429, Retry-After and the policy', async () => {
    const { token } = await addAgent(h, { rateLimitPerMinute: 3 });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await postTo(h.app.url, token, read());
      expect(res.status).toBe(201);
      expect(res.headers.get('ratelimit-policy')).toBe('"agent";q=3;w=60');
      seen.push(res.headers.get('ratelimit')!);
    }
    expect(seen.map((s) => /r=(\d+)/.exec(s)![1])).toEqual(['2', '1', '0']);
    const refused = await postTo(h.app.url, token, read());
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body).toMatchObject({ code: 'rate-limited', retryable: true, limit: 3, window_seconds: 60 });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get('retry-after'))).toBeLessThanOrEqual(20);
    expect(refused.headers.get('ratelimit')).toMatch(/^"agent";r=0;t=\d+$/);
  });

  it('is per agent: one agent over its limit does not slow another', async () => {
    const a = await addAgent(h, { rateLimitPerMinute: 1 });
    const b = await addAgent(h, { rateLimitPerMinute: 1 });
    expect((await postTo(h.app.url, a.token, read())).status).toBe(201);
    expect((await postTo(h.app.url, a.token, read())).status).toBe(429);
    expect((await postTo(h.app.url, b.token, read())).status).toBe(201);
  });

  it('uses the deployment default when the agent has none', async () => {
    const { token } = await addAgent(h);
    const res = await postTo(h.app.url, token, read());
    expect(res.headers.get('ratelimit-policy')).toBe(`"agent";q=${h.env.COUNTERSIGN_RATE_LIMIT_PER_MINUTE};w=60`);
  });

  it('is atomic: 20 parallel requests against a limit of 8 let exactly 8 through', async () => {
    const { token, agent } = await addAgent(h, { rateLimitPerMinute: 8 });
    const results = await Promise.all(Array.from({ length: 20 }, () => postTo(h.app.url, token, read())));
    expect(results.filter((r) => r.status === 201)).toHaveLength(8);
    expect(results.filter((r) => r.status === 429)).toHaveLength(12);
    const [row] = await h.db.db.select({ n: count() }).from(actions).where(eq(actions.agentId, agent.id));
    expect(row!.n).toBe(8);
  });

  it('is shared by all instances through Redis', async () => {
    const { token } = await addAgent(h, { rateLimitPerMinute: 6 });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await postTo(i % 2 ? second.url : h.app.url, token, read())).status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(6);
    expect(statuses.slice(6)).toEqual([429, 429, 429, 429]);
  });

  it('puts the headers on refusals made before the limiter, without counting them', async () => {
    const { token } = await addAgent(h, { rateLimitPerMinute: 5, scopes: ['external_automation.read.*'] });
    const outOfScope = await postTo(h.app.url, token, actionRequest());
    expect(outOfScope.status).toBe(403);
    expect(outOfScope.headers.get('ratelimit')).toMatch(/^"agent";r=5;t=0$/);
    const invalid = await postTo(h.app.url, token, { action_class: 'external_automation.read.jobs' });
    expect(invalid.status).toBe(422);
    expect(invalid.headers.get('ratelimit-policy')).toBe('"agent";q=5;w=60');
    const ok = await postTo(h.app.url, token, read());
    expect(ok.headers.get('ratelimit')).toMatch(/r=4;/);
  });

  it('does not count an idempotent replay', async () => {
    const { token } = await addAgent(h, { rateLimitPerMinute: 2 });
    const body = read();
    expect((await postTo(h.app.url, token, body)).status).toBe(201);
    const replay = await postTo(h.app.url, token, body);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('ratelimit')).toMatch(/r=1;/);
    expect((await postTo(h.app.url, token, read())).status).toBe(201);
  });

  it('fails closed with 503 service-unavailable when Redis is unreachable, recording nothing', async () => {
    const dead = createRateLimiter({ kind: 'url', url: `redis://127.0.0.1:${await freePort()}` }, { prefix: h.prefix, defaultPerMinute: 600 });
    try {
      const { agent } = await addAgent(h);
      const refused = await enforceRateLimit(dead, agent).catch((e) => e);
      expect(isProblem(refused) && refused.code).toBe('service-unavailable');
      expect(refused.retryable).toBe(true);
      expect(refused.retryAfterSeconds).toBeGreaterThan(0);

      // Through the intake itself: the request is refused and no action or evidence is written.
      const policy = await PolicyStore.open('policies');
      try {
        const err = await createAction({ db: h.db.db, policy, config: h.app.config, rateLimiter: dead }, { agent, tokenId: 'tok_x' }, read()).catch((e) => e);
        expect(err.code).toBe('service-unavailable');
      } finally {
        policy.close();
      }
      const [rows] = await h.db.db.select({ n: count() }).from(actions).where(eq(actions.agentId, agent.id));
      expect(rows!.n).toBe(0);
      const [events] = await h.db.db.select({ n: count() }).from(auditEvents).where(eq(auditEvents.agentId, agent.id));
      expect(events!.n).toBe(1); // agent.created only
    } finally {
      dead.close();
    }
  });
});
