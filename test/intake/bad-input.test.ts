import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditEvents, actions } from '../../src/db/schema';
import { actionRequest, startHarness, type Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

async function countActions() {
  return (await h.db.db.select().from(actions)).length;
}

function expectProblem(res: { status: number; body: any; headers: Headers }, status: number, code: string, retryable = false) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
  expect(res.body).toMatchObject({ type: `https://countersign.dev/problems/${code}`, status, code, retryable });
  expect(typeof res.body.detail).toBe('string');
}

describe('bad input is refused clearly and loses nothing', () => {
  it('malformed JSON → 400 invalid-request', async () => {
    const res = await h.post(null, { raw: '{"action_class": "external_automation.read.jobs",' });
    expectProblem(res, 400, 'invalid-request');
    expect(await countActions()).toBe(0);
  });

  it('a body that is not JSON → 415', async () => {
    const res = await h.post(null, { raw: 'action_class=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expectProblem(res, 415, 'unsupported-media-type');
  });

  it('unknown fields → 422 naming them', async () => {
    const res = await h.post(actionRequest({ approve_myself: true }));
    expectProblem(res, 422, 'validation-failed');
    expect(JSON.stringify(res.body.errors)).toContain('approve_myself');
  });

  it('missing idempotency_key → 422 naming the field', async () => {
    const body = actionRequest();
    delete body.idempotency_key;
    const res = await h.post(body);
    expectProblem(res, 422, 'validation-failed');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain('idempotency_key');
  });

  it('every violation is listed at once', async () => {
    const res = await h.post({ action_class: 5, params: 'x', dry_run: 'yes' });
    expectProblem(res, 422, 'validation-failed');
    const paths = res.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['action_class', 'params', 'dry_run', 'idempotency_key']));
  });

  it('an action class of the wrong shape → 422 invalid-action-class', async () => {
    for (const bad of ['External.Thing', 'nodots', 'a..b', 'a.b.', 'a.b c']) {
      const res = await h.post(actionRequest({ action_class: bad }));
      expectProblem(res, 422, 'invalid-action-class');
    }
  });

  it('a 1 MiB body → 413', async () => {
    const res = await h.post(actionRequest({ params: { blob: 'x'.repeat(1024 * 1024) } }));
    expectProblem(res, 413, 'payload-too-large');
    expect(await countActions()).toBe(0);
  });

  it('a missing token → 401 with WWW-Authenticate', async () => {
    const res = await h.post(actionRequest(), { token: '' });
    expectProblem(res, 401, 'unauthenticated');
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
  });

  it('a wrong token → 401', async () => {
    for (const token of ['csa_notarealtoken0000000000000000000000000000', 'garbage', h.token.slice(0, -1) + (h.token.endsWith('A') ? 'B' : 'A')]) {
      const res = await h.post(actionRequest(), { token });
      expectProblem(res, 401, 'unauthenticated');
    }
    expect(await countActions()).toBe(0);
  });

  it('an out-of-scope action class → 403 out-of-scope, every time, and audited', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await h.post(actionRequest({ action_class: 'payments.refund.create' }));
      expectProblem(res, 403, 'out-of-scope');
    }
    expect(await countActions()).toBe(0);
    const refused = (await h.db.db.select().from(auditEvents)).filter((e) => e.type === 'request.refused');
    expect(refused).toHaveLength(3);
    expect(refused[0]!.data).toMatchObject({ reason: 'out-of-scope', action_class: 'payments.refund.create' });
  });

  it('another agent’s action is not found', async () => {
    const res = await h.get('/v1/actions/act_doesnotexist');
    expect(res.status).toBe(404);
  });
});
