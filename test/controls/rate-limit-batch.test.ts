// The limiter's batching on its own Redis: concurrent takes share script calls, and the answers are exactly
// those of takes made one after the other (GCRA per agent, applied in order).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRateLimiter, RateLimitUnavailable, type RateLimiter } from '../../src/controls/rate-limit';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis';

let redis: PrivateRedis;
let limiter: RateLimiter;

beforeAll(async () => {
  redis = await startPrivateRedis();
  limiter = createRateLimiter({ kind: 'url', url: redis.url }, { prefix: 'rl-batch', defaultPerMinute: 600 });
});
afterAll(async () => {
  await limiter?.close();
  await redis?.close();
});

async function scriptCalls(): Promise<number> {
  const c = redis.client();
  try {
    const info = await c.info('commandstats');
    return [...info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  } finally {
    c.disconnect();
  }
}

describe('rate limiter batches', () => {
  it('takes 60 concurrent requests of three agents in fewer script calls, each agent counted exactly', async () => {
    const agents = [
      { id: 'agt_a', rateLimitPerMinute: 10 },
      { id: 'agt_b', rateLimitPerMinute: 25 },
      { id: 'agt_c', rateLimitPerMinute: null },
    ];
    await limiter.take(agents[0]!, 0); // the connection and the script are loaded before counting
    const before = await scriptCalls();
    const states = await Promise.all(Array.from({ length: 60 }, (_, i) => limiter.take(agents[i % 3]!)));
    const calls = (await scriptCalls()) - before;
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThan(60);
    const allowed = (id: string) => states.filter((s, i) => agents[i % 3]!.id === id && s.allowed).length;
    expect([allowed('agt_a'), allowed('agt_b'), allowed('agt_c')]).toEqual([10, 20, 20]);
    // In order within a batch, as one after the other: agent b's 20 takes left 5, 4, … as they were made.
    const remainingB = states.filter((_, i) => i % 3 === 1).map((s) => s.remaining);
    expect(remainingB).toEqual(Array.from({ length: 20 }, (_, k) => 24 - k));
    // Agent a: 10 through, then refused with a wait, not a slot.
    const a = states.filter((_, i) => i % 3 === 0);
    expect(a.slice(10).every((s) => !s.allowed && s.remaining === 0 && s.retryAfterSeconds >= 1)).toBe(true);
  });

  it('gives a refund back within the same batch as takes of the same agent', async () => {
    const agent = { id: 'agt_refund', rateLimitPerMinute: 2 };
    const [one, back, two, three] = await Promise.all([limiter.take(agent), limiter.take(agent, -1), limiter.take(agent), limiter.take(agent)]);
    expect([one.allowed, back.allowed, two.allowed, three.allowed]).toEqual([true, true, true, true]);
    expect((await limiter.take(agent)).allowed).toBe(false);
  });

  it('fails every take of a batch when Redis is gone, and answers again once it is back', async () => {
    const agent = { id: 'agt_outage', rateLimitPerMinute: 100 };
    await redis.stop();
    const results = await Promise.all(Array.from({ length: 5 }, () => limiter.take(agent).then(() => 'taken', () => 'failed')));
    expect(results).toEqual(['failed', 'failed', 'failed', 'failed', 'failed']);
    await redis.start();
    let state = null;
    for (let i = 0; i < 50 && !state; i++) state = await limiter.take(agent).catch(() => new Promise((r) => setTimeout(() => r(null), 100)));
    expect(state).toMatchObject({ allowed: true, remaining: 99 });
  });

  it('each take keeps its own wait budget: one queued behind a slow call fails within its budget, not after both', async () => {
    const waitMs = 1000;
    const patient = createRateLimiter({ kind: 'url', url: redis.url }, { prefix: 'rl-budget', defaultPerMinute: 600, waitMs });
    const agent = { id: 'agt_budget', rateLimitPerMinute: 100 };
    try {
      await patient.take(agent, 0);
      await redis.stop();
      const timed = () => {
        const t0 = performance.now();
        return patient.take(agent).then(
          () => ({ ok: true, ms: performance.now() - t0 }),
          () => ({ ok: false, ms: performance.now() - t0 }),
        );
      };
      const first = timed(); // its call waits for the connection for the whole budget
      await new Promise((r) => setTimeout(r, 700));
      const second = await Promise.all([timed(), timed()]); // queued behind it
      expect((await first).ok).toBe(false);
      // Before: the queued takes waited for the first call (300 ms left), then their own call waited a whole
      // budget again: about 1,300 ms after they were asked.
      for (const t of second) {
        expect(t.ok).toBe(false);
        expect(t.ms).toBeLessThan(waitMs + 200);
      }
    } finally {
      await redis.start();
      await patient.close();
    }
  });

  it('a take whose budget ran out while it waited for an earlier call is never sent: it costs the agent nothing', async () => {
    const waitMs = 200;
    const limiter = createRateLimiter({ kind: 'url', url: redis.url }, { prefix: 'rl-expired', defaultPerMinute: 600, waitMs });
    const agent = { id: 'agt_expired', rateLimitPerMinute: 100 };
    try {
      await limiter.take(agent, 0); // connected, script loaded, nothing taken
      const first = limiter.take(agent).catch((e: unknown) => e); // its call goes out
      const second = limiter.take(agent).catch((e: unknown) => e); // queued behind it
      // The event loop is held past both budgets: the second is still queued when its budget runs out.
      const until = Date.now() + waitMs + 100;
      while (Date.now() < until);
      await first;
      expect(await second).toBeInstanceOf(RateLimitUnavailable);
      // The first was sent (and counted); the refused second never reached Redis.
      expect((await limiter.take(agent, 0)).remaining).toBe(99);
    } finally {
      await limiter.close();
    }
  });
});
