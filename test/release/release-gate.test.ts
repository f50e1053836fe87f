import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createReleaseGate, windowPadMs } from '../../src/release';
import { REDIS_URL, deletePrefix, uniquePrefix } from '../support/redis';

const config = {
  executors: [
    { name: 'refunds', rate_limit: { max: 5, per_seconds: 1 } },
    { name: 'unlimited' },
  ],
} as unknown as Parameters<typeof createReleaseGate>[2];

let a: Redis;
let b: Redis;
const prefix = uniquePrefix('gate');

beforeAll(() => {
  // Two connections stand for two worker processes sharing one Redis.
  a = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  b = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
});
afterAll(async () => {
  a.disconnect();
  b.disconnect();
  await deletePrefix(prefix);
});

describe('release rate gate', () => {
  it('lets exactly `max` releases through per window across instances, and says how long to wait', async () => {
    const gateA = createReleaseGate(a, `${prefix}:1`, config);
    const gateB = createReleaseGate(b, `${prefix}:1`, config);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? gateA : gateB)('refunds', 'take')));
    expect(results.filter((d) => d === 0)).toHaveLength(5);
    for (const d of results.filter((d) => d > 0)) {
      expect(d).toBeGreaterThan(0);
      expect(d).toBeLessThanOrEqual(1000 + windowPadMs(1));
    }
  });

  it('peeking does not use a slot', async () => {
    const gate = createReleaseGate(a, `${prefix}:2`, config);
    for (let i = 0; i < 10; i++) expect(await gate('refunds', 'peek')).toBe(0);
    for (let i = 0; i < 5; i++) expect(await gate('refunds', 'take')).toBe(0);
    expect(await gate('refunds', 'peek')).toBeGreaterThan(0);
  });

  it('has room again once the oldest release leaves the window', async () => {
    const gate = createReleaseGate(a, `${prefix}:3`, config);
    for (let i = 0; i < 5; i++) expect(await gate('refunds', 'take')).toBe(0);
    const wait = await gate('refunds', 'take');
    expect(wait).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, wait + 20));
    expect(await gate('refunds', 'take')).toBe(0);
  });

  it('executors without a rate_limit are never throttled', async () => {
    const gate = createReleaseGate(a, `${prefix}:4`, config);
    for (let i = 0; i < 50; i++) expect(await gate('unlimited', 'take')).toBe(0);
  });
});
