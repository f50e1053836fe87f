import { afterEach, describe, expect, it } from 'vitest';
import { CountersignClient, CountersignError, parseRetryAfter, retryDelayMs, DEFAULT_RETRY } from '@countersign/client';
import { created, hangUp, problem, startScriptedServer } from './problem-server';

let servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function setup(script: Parameters<typeof startScriptedServer>[0], retry = {}) {
  const server = await startScriptedServer(script);
  servers.push(server);
  const sleeps: number[] = [];
  const client = new CountersignClient({
    baseUrl: server.url,
    token: 'csa_test',
    retry,
    sleep: async (ms) => void sleeps.push(ms),
  });
  return { server, client, sleeps };
}

const input = { action_class: 'external_automation.read.jobs', params: {}, context: {} };

describe('client retries', () => {
  it('honours Retry-After on a 429 and sends the same generated idempotency key again', async () => {
    const { server, client, sleeps } = await setup([problem(429, 'rate-limited', true, { 'retry-after': '3' }), created()]);
    const action = await client.requestAction(input);
    expect(action.status).toBe('approved');
    expect(sleeps).toEqual([3000]);
    expect(server.seen).toHaveLength(2);
    const [first, second] = server.seen;
    expect(first!.body.idempotency_key).toMatch(/^cs-[0-9a-f-]{36}$/);
    expect(second!.body.idempotency_key).toBe(first!.body.idempotency_key);
    expect(action.idempotency_key).toBe(first!.body.idempotency_key);
    expect(first!.headers.authorization).toBe('Bearer csa_test');
  });

  it('honours Retry-After on a 503, including the HTTP-date form', async () => {
    const when = new Date(Date.now() + 5_000).toUTCString();
    const { client, sleeps } = await setup([problem(503, 'service-unavailable', true, { 'retry-after': when }), created()]);
    await client.requestAction({ ...input, idempotency_key: 'mine-1' });
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(2_000);
    expect(sleeps[0]).toBeLessThanOrEqual(5_000);
  });

  it('keeps a caller-supplied idempotency key across retries after a dropped connection', async () => {
    const { server, client, sleeps } = await setup([hangUp(), hangUp(), created()]);
    await client.requestAction({ ...input, idempotency_key: 'caller-key-7' });
    expect(server.seen.map((r) => r.body.idempotency_key)).toEqual(['caller-key-7', 'caller-key-7', 'caller-key-7']);
    expect(sleeps).toHaveLength(2);
  });

  it('never retries a non-retryable problem, even a 429 (budget exhausted)', async () => {
    const { server, client, sleeps } = await setup([problem(429, 'budget-exhausted', false, { 'retry-after': '1' }), created()]);
    const err = await client.requestAction(input).catch((e) => e);
    expect(err).toBeInstanceOf(CountersignError);
    expect(err).toMatchObject({ code: 'budget-exhausted', status: 429, retryable: false, type: 'https://countersign.dev/problems/budget-exhausted', attempts: 1 });
    expect(server.seen).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('never retries validation failures or policy denials', async () => {
    for (const [status, code] of [
      [422, 'validation-failed'],
      [403, 'policy-denied'],
      [401, 'unauthenticated'],
      [409, 'idempotency-conflict'],
    ] as const) {
      const { server, client } = await setup([problem(status, code, false), created()]);
      await expect(client.requestAction(input)).rejects.toMatchObject({ code, status, retryable: false });
      expect(server.seen).toHaveLength(1);
    }
  });

  it('gives up after maxRetries with the last problem, backing off exponentially without Retry-After', async () => {
    const { server, client, sleeps } = await setup([problem(503, 'service-unavailable', true)], { maxRetries: 3, baseDelayMs: 100 });
    const err = await client.requestAction(input).catch((e) => e);
    expect(err).toMatchObject({ code: 'service-unavailable', retryable: true, attempts: 4 });
    expect(server.seen).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
    // Full-jitter steps: each wait lies within [ceiling/2, ceiling] of 100, 200, 400 ms.
    sleeps.forEach((ms, i) => {
      expect(ms).toBeGreaterThanOrEqual((100 * 2 ** i) / 2);
      expect(ms).toBeLessThanOrEqual(100 * 2 ** i);
    });
  });

  it('retries a non-problem 502 from a proxy, and reports network failures as code "network"', async () => {
    const proxy = (_r: unknown, res: import('node:http').ServerResponse) => void res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>Bad gateway</h1>');
    const { client } = await setup([proxy, created()]);
    await expect(client.requestAction(input)).resolves.toMatchObject({ id: 'act_test' });

    const dead = new CountersignClient({ baseUrl: 'http://127.0.0.1:9', token: 'csa_x', retry: { maxRetries: 1 }, sleep: async () => {} });
    await expect(dead.getAction('act_1')).rejects.toMatchObject({ code: 'network', retryable: true, attempts: 2 });
  });

  it('caps a huge Retry-After at maxDelayMs', async () => {
    const { client, sleeps } = await setup([problem(429, 'rate-limited', true, { 'retry-after': '86400' }), created()], { maxDelayMs: 10_000 });
    await client.requestAction(input);
    expect(sleeps).toEqual([10_000]);
  });

  it('stops retrying when the caller aborts', async () => {
    const server = await startScriptedServer([problem(503, 'service-unavailable', true, { 'retry-after': '1' })]);
    servers.push(server);
    const ac = new AbortController();
    const client = new CountersignClient({ baseUrl: server.url, token: 'csa_t', sleep: async () => void ac.abort(new Error('caller gave up')) });
    await expect(client.requestAction(input, { signal: ac.signal })).rejects.toThrow('caller gave up');
    expect(server.seen).toHaveLength(1);
  });
});

describe('retry policy', () => {
  it('parses Retry-After seconds and dates, and ignores garbage', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter('soon')).toBeNull();
    expect(parseRetryAfter(null)).toBeNull();
  });
  it('prefers Retry-After over backoff', () => {
    expect(retryDelayMs(DEFAULT_RETRY, 3, 1500)).toBe(1500);
    expect(retryDelayMs(DEFAULT_RETRY, 0, null, () => 0)).toBe(125);
    expect(retryDelayMs(DEFAULT_RETRY, 20, null, () => 1)).toBe(DEFAULT_RETRY.maxDelayMs);
  });
});
