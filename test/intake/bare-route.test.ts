// POST /v1/actions is answered without Express for plain UTF-8 JSON (src/intake/bare-route.ts). The same
// requests sent so that Express answers them (a quoted charset, which the bare route leaves to it) must get the
// same status, problem, headers and body, but the ETag Express adds; anything unusual still goes to Express.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/lib/json-guard';
import { actionRequest, startHarness, type Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ start: { workers: false }, scopes: ['external_automation.read.*', 'external_automation.workflow.*'] });
});
afterAll(async () => h?.close());

const BARE = 'application/json';
const EXPRESS = 'application/json; charset="utf-8"';
const read = () => actionRequest({ action_class: 'external_automation.read.jobs', context: {} });

type Case = { name: string; body: () => string | Buffer; headers?: Record<string, string>; token?: string | null };

const cases: Case[] = [
  { name: 'an allowed read', body: () => JSON.stringify(read()) },
  { name: 'an escalation', body: () => JSON.stringify(actionRequest()) },
  { name: 'a policy denial', body: () => JSON.stringify(actionRequest({ params: { name: 'n', target_count: 40 } })) },
  { name: 'out of scope', body: () => JSON.stringify(actionRequest({ action_class: 'external_automation.job.run' })) },
  { name: 'no token', body: () => JSON.stringify(read()), token: null },
  { name: 'a wrong token', body: () => JSON.stringify(read()), token: 'csa_not_a_token' },
  { name: 'not JSON', body: () => '{"action_class":' },
  { name: 'JSON that is not an object or array', body: () => '"just a string"' },
  { name: 'an empty body', body: () => '' },
  { name: 'a byte order mark before the JSON', body: () => `\uFEFF${JSON.stringify(read())}` },
  { name: 'nested past the cap', body: () => JSON.stringify(read()).replace('"context":{}', `"context":{"x":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`) },
  { name: 'a NUL character', body: () => JSON.stringify({ ...read(), justification: 'a\u0000b' }) },
  { name: 'over 256 KiB', body: () => JSON.stringify({ ...read(), justification: 'x'.repeat(300 * 1024) }) },
  { name: 'a JSON array', body: () => '[1,2]' },
  { name: 'an unknown field', body: () => JSON.stringify({ ...read(), extra: 1 }) },
  {
    name: 'an Idempotency-Key header differing from the body',
    body: () => JSON.stringify(read()),
    headers: { 'idempotency-key': 'another-key' },
  },
  { name: 'a request id and a correlation id', body: () => JSON.stringify(read()), headers: { 'x-request-id': 'upstream-1', 'x-correlation-id': 'corr-up-1' } },
];

async function send(c: Case, contentType: string) {
  const token = c.token === null ? undefined : (c.token ?? h.token);
  const res = await fetch(`${h.app.url}/v1/actions`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}), ...c.headers },
    body: c.body(),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : null };
}

/** What must be the same whichever layer answered: ids and times differ from request to request. */
function comparable(r: Awaited<ReturnType<typeof send>>) {
  const names = [...r.headers.keys()].filter((k) => !['etag', 'date', 'x-request-id', 'keep-alive', 'connection', 'content-length'].includes(k)).sort();
  const body = r.body && {
    ...r.body,
    ...(r.body.id ? { id: 'ID', idempotency_key: 'KEY', correlation_id: 'CORR', created_at: 'T', updated_at: 'T', expires_at: r.body.expires_at ? 'T' : null, payload_hash: 'H' } : {}),
    ...(r.body.action_id ? { action_id: 'ID', instance: String(r.body.instance).replace(/act_[0-9a-z]+/, 'ID'), correlation_id: 'CORR', payload_hash: 'H' } : {}),
    receipt: r.body.receipt ? 'RECEIPT' : undefined,
  };
  return {
    status: r.status,
    contentType: r.headers.get('content-type'),
    headers: names,
    wwwAuthenticate: r.headers.get('www-authenticate'),
    rateLimitPolicy: r.headers.get('ratelimit-policy'),
    correlation: r.headers.get('x-correlation-id'),
    requestIdShape: /^req_|^upstream-1$/.test(r.headers.get('x-request-id') ?? ''),
    body,
  };
}

describe('POST /v1/actions without Express', () => {
  for (const c of cases) {
    it(`answers ${c.name} as Express does`, async () => {
      const bare = await send(c, BARE);
      const express = await send(c, EXPRESS);
      // The bare route answered the first (no ETag) and Express the second.
      expect(bare.headers.get('etag')).toBeNull();
      expect(express.headers.get('etag')).not.toBeNull();
      expect(comparable(bare)).toEqual(comparable(express));
    });
  }

  it('leaves a gzip-encoded body to Express, which inflates it', async () => {
    const res = await fetch(`${h.app.url}/v1/actions`, {
      method: 'POST',
      headers: { 'content-type': BARE, 'content-encoding': 'gzip', authorization: `Bearer ${h.token}` },
      body: gzipSync(Buffer.from(JSON.stringify(read()))),
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('etag')).not.toBeNull();
  });

  it('leaves another path, a query string and another method to Express', async () => {
    const query = await fetch(`${h.app.url}/v1/actions?x=1`, { method: 'POST', headers: { 'content-type': BARE, authorization: `Bearer ${h.token}` }, body: JSON.stringify(read()) });
    expect(query.status).toBe(201);
    expect(query.headers.get('etag')).not.toBeNull();
    const put = await fetch(`${h.app.url}/v1/actions`, { method: 'PUT', headers: { 'content-type': BARE, authorization: `Bearer ${h.token}` }, body: '{}' });
    expect(put.status).toBe(405);
  });

  it('counts its requests and problems in the same metrics, under the route template', async () => {
    await send(cases[0]!, BARE);
    await send(cases[6]!, BARE);
    const text = await h.app.metrics.registry.getSingleMetricAsString('countersign_http_requests_total');
    expect(text).toMatch(/countersign_http_requests_total\{method="POST",route="\/v1\/actions",status="201"\} \d+/);
    expect(text).toMatch(/countersign_http_requests_total\{method="POST",route="\/v1\/actions",status="400"\} \d+/);
    const problems = await h.app.metrics.registry.getSingleMetricAsString('countersign_problem_responses_total');
    expect(problems).toMatch(/code="invalid-request",status="400"\} \d+/);
  });
});
