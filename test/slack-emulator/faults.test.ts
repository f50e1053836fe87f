import { ErrorCode, type WebAPIHTTPError, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { SlackEmulator } from '../../src/slack-emulator/index.ts';
import { startEmulator, webClient } from './fixtures.ts';

let emu: SlackEmulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

describe('fault injection', () => {
  it('429 + Retry-After: the real WebClient waits Retry-After seconds and retries', async () => {
    emu = await startEmulator();
    emu.failNext('chat.postMessage', { status: 429, retryAfter: 1 });
    const started = Date.now();
    // minTimeout only shortens p-retry's own backoff; the pause for Retry-After is the client's.
    const res = await webClient(emu, undefined, { retryConfig: { retries: 1, minTimeout: 10, maxTimeout: 10 } }).chat.postMessage({ channel: 'C0APPROVALS', text: 'hi' });
    expect(res.ok).toBe(true);
    // Honoured Retry-After: the retry came no sooner than 1 s after the 429 (a lower bound, never flaky).
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    const calls = emu.callsTo('chat.postMessage');
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    expect(calls[0]?.headers['retry-after']).toBe('1');
    expect(emu.messages('C0APPROVALS')).toHaveLength(1);
  });

  it('429 with rejectRateLimitedCalls surfaces WebAPIRateLimitedError carrying retryAfter', async () => {
    emu = await startEmulator();
    emu.failNext('chat.update', { status: 429, retryAfter: 7 });
    const err = (await webClient(emu, undefined, { rejectRateLimitedCalls: true })
      .chat.update({ channel: 'C0APPROVALS', ts: '1.1', text: 'x' })
      .catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBe(7);
  });

  it('{ error } answers HTTP 200 ok:false with that error, once', async () => {
    emu = await startEmulator();
    emu.failNext('chat.postMessage', { error: 'channel_not_found' });
    const client = webClient(emu);
    const err = (await client.chat.postMessage({ channel: 'C0APPROVALS', text: 'x' }).catch((e: unknown) => e)) as WebAPIPlatformError;
    expect(err.data.error).toBe('channel_not_found');
    expect((await client.chat.postMessage({ channel: 'C0APPROVALS', text: 'x' })).ok).toBe(true);
  });

  it('{ status: 500 } is a WebAPIHTTPError; the client retries it when allowed', async () => {
    emu = await startEmulator();
    emu.failNext('views.update', { status: 500 });
    const err = (await webClient(emu).views.update({ view_id: 'V1', view: {} as never }).catch((e: unknown) => e)) as WebAPIHTTPError;
    expect(err.code).toBe(ErrorCode.HTTPError);
    expect(err.statusCode).toBe(500);

    emu.failNext('auth.test', { status: 503, times: 1 });
    const res = await webClient(emu, undefined, { retryConfig: { retries: 1, minTimeout: 10, maxTimeout: 10 } }).auth.test();
    expect(res.ok).toBe(true);
    expect(emu.callsTo('auth.test').map((c) => c.status)).toEqual([503, 200]);
  });

  it('times: N fails N calls in a row; delayMs slows a call down', async () => {
    emu = await startEmulator();
    emu.failNext('auth.test', { error: 'fatal_error', times: 2 });
    const client = webClient(emu);
    await expect(client.auth.test()).rejects.toThrow('fatal_error');
    await expect(client.auth.test()).rejects.toThrow('fatal_error');
    emu.failNext('auth.test', { delayMs: 200 });
    const started = Date.now();
    expect((await client.auth.test()).ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });
});

describe('rate limits', () => {
  it('chat.postMessage ~1/s per channel is off by default', async () => {
    emu = await startEmulator();
    const client = webClient(emu);
    for (let i = 0; i < 5; i++) await client.chat.postMessage({ channel: 'C0APPROVALS', text: `m${i}` });
    expect(emu.messages('C0APPROVALS')).toHaveLength(5);
  });

  it('when on, a second post to the same channel within a second gets 429, other channels do not', async () => {
    emu = await startEmulator({ rateLimits: { chatPostMessagePerChannel: true } });
    const client = webClient(emu, undefined, { rejectRateLimitedCalls: true });
    await client.chat.postMessage({ channel: 'C0APPROVALS', text: 'first' });
    const err = (await client.chat.postMessage({ channel: 'C0APPROVALS', text: 'second' }).catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(err.code).toBe(ErrorCode.RateLimitedError);
    expect(err.retryAfter).toBe(1);
    expect((await client.chat.postMessage({ channel: 'C0PRIVATE01', text: 'other channel' })).ok).toBe(true);
    expect(emu.messages('C0APPROVALS').map((m) => m.text)).toEqual(['first']);
  });

  it('setRateLimit applies a custom rule at run time and can be removed', async () => {
    emu = await startEmulator();
    emu.setRateLimit('users.info', { limit: 2, windowMs: 60_000 });
    const client = webClient(emu, undefined, { rejectRateLimitedCalls: true });
    await client.users.info({ user: 'U0ALICE0001' });
    await client.users.info({ user: 'U0ALICE0001' });
    const err = (await client.users.info({ user: 'U0ALICE0001' }).catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(err.retryAfter).toBeGreaterThan(50);
    emu.setRateLimit('users.info', null);
    expect((await client.users.info({ user: 'U0ALICE0001' })).ok).toBe(true);
  });

  it('tiers: apps.connections.open is tier 1 (1 per minute)', async () => {
    emu = await startEmulator({ rateLimits: { tiers: true } });
    const client = webClient(emu, 'xapp-1-test-app-token', { rejectRateLimitedCalls: true });
    expect((await client.apps.connections.open({})).ok).toBe(true);
    await expect(client.apps.connections.open({})).rejects.toMatchObject({ code: ErrorCode.RateLimitedError });
  });
});
