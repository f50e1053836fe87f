import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness';
import { ADMIN_BOOTSTRAP, admin, controlsConfig } from './support';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ configFor: (url) => controlsConfig(url), start: { workers: false }, env: { COUNTERSIGN_ADMIN_TOKEN: ADMIN_BOOTSTRAP } });
});
afterAll(async () => {
  await h?.close();
});

/** Every member name in a JSON value, at any depth. */
function keysOf(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((v) => keysOf(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      keysOf(v, out);
    }
  }
  return out;
}

describe('/v1/admin speaks snake_case', () => {
  it('in every response body of every admin route', async () => {
    const calls: Array<[string, string, unknown?]> = [
      ['POST', '/agents', { name: 'snake-bot', owner: 'ops', scopes: ['external_automation.read.*'], rate_limit_per_minute: 30 }],
      ['GET', '/agents'],
      ['GET', '/agents/snake-bot'],
      ['PATCH', '/agents/snake-bot', { rate_limit_per_minute: 40 }],
      ['POST', '/agents/snake-bot/rotate', { grace: '1h' }],
      ['POST', '/agents/snake-bot/revoke', { reason: 'test' }],
      ['POST', '/agents/snake-bot/kill', { reason: 'test' }],
      ['POST', '/agents/snake-bot/resume'],
      ['POST', '/kill-all', { reason: 'test' }],
      ['GET', '/agents/nobody'],
      ['POST', '/agents', { name: 'snake-bot', scopes: ['x.*'] }],
    ];
    for (const [method, path, body] of calls) {
      const res = await admin(h.app.url, method, path, body, ADMIN_BOOTSTRAP);
      expect(res.status, `${method} ${path}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
      const camel = keysOf(res.body).filter((k) => /[A-Z]/.test(k));
      expect(camel, `${method} ${path}`).toEqual([]);
    }
  });

  it('creates an agent answering with the same view the list and detail routes show', async () => {
    const created = await admin(h.app.url, 'POST', '/agents', { name: 'view-bot', scopes: ['external_automation.read.*'], rate_limit_per_minute: 12 }, ADMIN_BOOTSTRAP);
    expect(created.status).toBe(201);
    expect(created.body.agent).toEqual({
      id: expect.stringMatching(/^agt_/),
      name: 'view-bot',
      owner: '',
      scopes: ['external_automation.read.*'],
      status: 'active',
      rate_limit_per_minute: 12,
      suspended_at: null,
      suspended_by: null,
    });
    const listed = await admin(h.app.url, 'GET', '/agents', undefined, ADMIN_BOOTSTRAP);
    expect(listed.body.agents.find((a: { name: string }) => a.name === 'view-bot')).toEqual(created.body.agent);
  });

  it('in requests too: a camelCase member is refused, not silently ignored', async () => {
    const res = await admin(h.app.url, 'POST', '/agents', { name: 'camel-bot', scopes: ['external_automation.read.*'], rateLimitPerMinute: 5 }, ADMIN_BOOTSTRAP);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation-failed');
    const patch = await admin(h.app.url, 'PATCH', '/agents/view-bot', { rateLimitPerMinute: 5 }, ADMIN_BOOTSTRAP);
    expect(patch.status).toBe(422);
  });
});
