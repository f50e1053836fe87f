import { Writable } from 'node:stream';
import type { Server } from 'node:http';
import express from 'express';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Problem } from '../../src/lib/errors';
import { problemHandler } from '../../src/http/problem-response';
import { DependencyUnavailable } from '../../src/lib/dependency-error';
import { createMetrics, requestLogging } from '../../src/observability';
import { actionRequest, startHarness, type Harness } from '../support/harness';

const lines: any[] = [];
const sink = new Writable({
  write(chunk, _enc, cb) {
    for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
    cb();
  },
});
const logger = pino({ level: 'debug', base: { service: 'countersign' } }, sink);
const metrics = createMetrics({ processMetrics: false });
let server: Server;
let url: string;

beforeAll(async () => {
  const app = express();
  app.use(requestLogging({ logger, metrics }));
  app.get('/healthz', (_req, res) => void res.json({ ok: true }));
  app.post('/v1/things', express.json(), (req, res) => {
    req.log!.info({ step: 'inside' }, 'handler ran');
    res.status(201).json({ ok: true });
  });
  app.get('/v1/limited', () => {
    throw new Problem('rate-limited', 'slow down', { retryAfterSeconds: 3 });
  });
  app.get('/v1/budget', () => {
    throw new Problem('budget-exhausted', 'no budget left');
  });
  const nested = express.Router();
  nested.get('/agents/:name', (_req, res) => void res.json({ ok: true }));
  app.use('/v1/admin', nested);
  app.get('/boom', () => {
    throw new Error('bug');
  });
  app.get('/v1/outage', () => {
    throw new DependencyUnavailable('postgres', 'the database did not answer within 1000 ms');
  });
  app.get('/v1/redis-outage', () => {
    throw Object.assign(new Error("Stream isn't writeable and enableOfflineQueue options is false"), {});
  });
  app.get('/v1/slow', (_req, res) => void setTimeout(() => res.json({ late: true }), 1000));
  app.use(problemHandler);
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

const settle = () => new Promise((r) => setTimeout(r, 20));
const requestLines = () => lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('request'));

describe('request logging', () => {
  it('logs one JSON line per request (a successful one at debug) with a generated request id, echoed in X-Request-Id', async () => {
    lines.length = 0;
    const res = await fetch(`${url}/v1/things`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await settle();
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^req_[0-9a-z]{25}$/);
    const [line] = requestLines();
    // A successful request's line is at debug (info and above carry refusals and failures only).
    expect(line).toMatchObject({ level: 20, service: 'countersign', request_id: id, correlation_id: id, method: 'POST', route: '/v1/things', status: 201 });
    expect(typeof line.duration_ms).toBe('number');
    expect(typeof line.time).toBe('number');
  });

  it("gives handlers a child logger carrying the request's ids", async () => {
    lines.length = 0;
    await fetch(`${url}/v1/things`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-correlation-id': 'corr-abc' }, body: '{}' });
    await settle();
    const inside = lines.find((l) => l.msg === 'handler ran');
    expect(inside).toMatchObject({ step: 'inside', correlation_id: 'corr-abc' });
    expect(inside.request_id).toMatch(/^req_/);
  });

  it('keeps sane incoming ids, replaces unsafe ones, and falls back to the body correlation_id', async () => {
    lines.length = 0;
    const kept = await fetch(`${url}/v1/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'upstream-123', 'x-correlation-id': 'corr-1' },
      body: '{}',
    });
    expect(kept.headers.get('x-request-id')).toBe('upstream-123');
    expect(kept.headers.get('x-correlation-id')).toBe('corr-1');
    const replaced = await fetch(`${url}/v1/things`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'x'.repeat(200) },
      body: JSON.stringify({ correlation_id: 'from-body' }),
    });
    expect(replaced.headers.get('x-request-id')).toMatch(/^req_/);
    await settle();
    const [first, second] = requestLines();
    expect(first).toMatchObject({ request_id: 'upstream-123', correlation_id: 'corr-1' });
    expect(second.correlation_id).toBe('from-body');
  });

  it('logs problems with their code and counts rate-limit and budget refusals', async () => {
    lines.length = 0;
    const limited = await fetch(`${url}/v1/limited`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    await fetch(`${url}/v1/budget`);
    await settle();
    expect(requestLines().map((l) => [l.problem, l.level])).toEqual([
      ['rate-limited', 30],
      ['budget-exhausted', 30],
    ]);
    const text = await metrics.registry.getSingleMetricAsString('countersign_problem_responses_total');
    expect(text).toContain('countersign_problem_responses_total{code="rate-limited",status="429"} 1');
    expect(text).toContain('countersign_problem_responses_total{code="budget-exhausted",status="429"} 1');
  });

  it('logs the full path of a request served by a mounted router, without its query string', async () => {
    lines.length = 0;
    await fetch(`${url}/v1/admin/agents/refund-bot?secret=hunter2`);
    await settle();
    const [line] = requestLines();
    expect(line).toMatchObject({ path: '/v1/admin/agents/refund-bot', route: '/v1/admin/agents/:name', status: 200 });
    expect(JSON.stringify(line)).not.toContain('hunter2');
  });

  it('at info, the default level, logs refusals but no line for a successful request', async () => {
    lines.length = 0;
    logger.level = 'info';
    try {
      await fetch(`${url}/v1/things`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      await fetch(`${url}/v1/limited`);
      await settle();
    } finally {
      logger.level = 'debug';
    }
    expect(requestLines().map((l) => [l.status, l.level])).toEqual([[429, 30]]);
  });

  it('logs 5xx at error and probes at debug', async () => {
    lines.length = 0;
    await fetch(`${url}/boom`);
    await fetch(`${url}/healthz`);
    await settle();
    const [boom, probe] = requestLines();
    expect(boom).toMatchObject({ level: 50, status: 500, problem: 'internal', msg: 'request failed' });
    expect(probe).toMatchObject({ level: 20, route: '/healthz', status: 200 });
  });
});

describe('request logging during outages', () => {
  it('answers an outage 503 problem with Retry-After and the dependency, logged at warn, not error', async () => {
    lines.length = 0;
    const pg = await fetch(`${url}/v1/outage`);
    const redis = await fetch(`${url}/v1/redis-outage`);
    await settle();
    for (const [res, dependency] of [[pg, 'postgres'], [redis, 'redis']] as const) {
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.json()).toMatchObject({ code: 'service-unavailable', retryable: true, dependency });
    }
    expect(requestLines().map((l) => [l.status, l.level, l.problem])).toEqual([
      [503, 40, 'service-unavailable'],
      [503, 40, 'service-unavailable'],
    ]);
  });

  it('logs a request the client abandoned as abandoned (499), not as 200', async () => {
    lines.length = 0;
    await fetch(`${url}/v1/slow`, { signal: AbortSignal.timeout(100) }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1200));
    const [line] = requestLines();
    expect(line).toMatchObject({ msg: 'request abandoned by the client', status: 499, abandoned: true, level: 30 });
    const text = await metrics.registry.getSingleMetricAsString('countersign_http_requests_total');
    expect(text).toContain('route="/v1/slow",status="499"} 1');
  });
});

describe('request ids on the real app', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ start: { workers: false } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('echoes X-Request-Id on intake responses, problems included', async () => {
    const ok = await h.post(actionRequest(), { headers: { 'x-request-id': 'agent-req-1' } });
    expect(ok.headers.get('x-request-id')).toBe('agent-req-1');
    const bad = await h.post({}, { token: 'csa_bad' });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('x-request-id')).toMatch(/^req_/);
  });
});
