import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { actionRequest, startHarness, type Harness } from '../support/harness';
import { startSandbox, type Sandbox } from '../../src/sandbox';

/**
 * Real answers of every documented operation, checked against the served document: the status is documented,
 * the content type is declared, the body validates against its schema (Ajv, JSON Schema 2020-12) and every
 * contract header the server sent is declared on that response.
 */
const ADMIN = 'bootstrap-admin-token-conformance-0123456789';
const TRACKED_HEADERS = ['Location', 'Idempotent-Replayed', 'RateLimit', 'RateLimit-Policy', 'Retry-After'];

let h: Harness;
let sandbox: Sandbox;
let sh: Harness;
let doc: any;
const exercised = new Map<string, Set<number>>();

beforeAll(async () => {
  h = await startHarness({ slackApiUrl: 'http://127.0.0.1:9/api/', start: { workers: false }, env: { COUNTERSIGN_ADMIN_TOKEN: ADMIN } });
  sandbox = await startSandbox(null);
  sh = await startHarness({ env: { ...sandbox.slackEnv, COUNTERSIGN_ADMIN_TOKEN: ADMIN }, start: { workers: false, mount: sandbox.mount } });
  doc = await (await fetch(`${h.app.url}/openapi.json`)).json();
});
afterAll(async () => {
  sandbox?.beforeClose();
  await h?.close();
  await sh?.close();
  await sandbox?.close();
});

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
const validators = new Map<string, ReturnType<typeof ajv.compile>>();
function validator(schema: unknown) {
  const key = JSON.stringify(schema);
  if (!validators.has(key)) {
    if (!ajv.getSchema('doc')) ajv.addSchema({ $id: 'doc', components: doc.components }, 'doc');
    validators.set(key, ajv.compile(JSON.parse(key.replaceAll('"#/components/', '"doc#/components/'))));
  }
  return validators.get(key)!;
}

type Call = { method: string; path: string; template: string; headers?: Record<string, string>; body?: string; base?: string; stream?: boolean };

/** Sends one request and checks its answer against the document; returns status and parsed body. */
async function call(c: Call): Promise<{ status: number; body: any; headers: Headers }> {
  const controller = new AbortController();
  const res = await fetch((c.base ?? h.app.url) + c.path, { method: c.method, headers: c.headers, body: c.body, redirect: 'follow', signal: controller.signal });
  const text = c.stream ? '' : await res.text();
  if (c.stream) controller.abort();
  const label = `${c.method} ${c.template} → ${res.status}`;
  const op = doc.paths[c.template]?.[c.method.toLowerCase()];
  expect(op, `${label}: operation not documented`).toBeDefined();
  const documented = op.responses[String(res.status)];
  expect(documented, `${label}: status not documented (${text.slice(0, 200)})`).toBeDefined();
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  if (documented.content) {
    const declared = Object.keys(documented.content).find((k) => k.split(';')[0]!.trim() === type);
    expect(declared, `${label}: content type ${type} not declared (${Object.keys(documented.content)})`).toBeDefined();
    const schema = documented.content[declared!].schema;
    if (schema) {
      const validate = validator(schema);
      expect(validate(JSON.parse(text)), `${label}: ${JSON.stringify(validate.errors)} in ${text.slice(0, 300)}`).toBe(true);
    }
  } else {
    expect(text, `${label}: a body where the document declares none`).toBe('');
  }
  for (const name of TRACKED_HEADERS) {
    if (res.headers.has(name)) expect(documented.headers?.[name], `${label}: sends ${name} but does not declare it`).toBeDefined();
  }
  if (!exercised.has(op.operationId)) exercised.set(op.operationId, new Set());
  exercised.get(op.operationId)!.add(res.status);
  return { status: res.status, body: text && type.includes('json') ? JSON.parse(text) : text, headers: res.headers };
}

const json = (token: string | null, extra: Record<string, string> = {}) => ({
  'content-type': 'application/json',
  ...(token ? { authorization: `Bearer ${token}` } : {}),
  ...extra,
});
const post = (path: string, token: string | null, body: unknown, extra: Record<string, string> = {}, template = path): Call => ({
  method: 'POST',
  path,
  template,
  headers: json(token, extra),
  body: typeof body === 'string' ? body : JSON.stringify(body),
});
const get = (path: string, token: string | null, template = path.split('?')[0]!): Call => ({ method: 'GET', path, template, headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('real responses against the OpenAPI document', () => {
  it('agent routes: created, replayed, denied, refused, conflicting, rate limited, read, polled', async () => {
    const read = actionRequest({ action_class: 'external_automation.read.jobs', context: {} });
    const created = await call(post('/v1/actions', h.token, read));
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/actions/${created.body.id}`);
    expect(created.headers.get('ratelimit')).toBeTruthy();
    const replay = await call(post('/v1/actions', h.token, read));
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await call(post('/v1/actions', h.token, { ...read, justification: 'other' }))).status).toBe(409);
    const denied = actionRequest({ context: { target_count: 40 } });
    expect((await call(post('/v1/actions', h.token, denied))).status).toBe(403);
    expect((await call(post('/v1/actions', h.token, denied))).headers.get('idempotent-replayed')).toBe('true');
    expect((await call(post('/v1/actions', h.token, { action_class: 'x.y' }))).status).toBe(422);
    expect((await call(post('/v1/actions', h.token, '{"broken'))).status).toBe(400);
    expect((await call({ ...post('/v1/actions', h.token, 'a=b'), headers: { authorization: `Bearer ${h.token}`, 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await call(post('/v1/actions', null, read))).status).toBe(401);
    expect((await call(post('/v1/actions', h.token, 'x'.repeat(300 * 1024)))).status).toBe(413);

    const limited = await call(post('/v1/admin/agents', ADMIN, { name: 'slow-bot', scopes: ['external_automation.*'], rate_limit_per_minute: 1 }));
    expect((await call(post('/v1/actions', limited.body.token, actionRequest({ action_class: 'external_automation.read.jobs', context: {} })))).status).toBe(201);
    const refused = await call(post('/v1/actions', limited.body.token, actionRequest({ action_class: 'external_automation.read.jobs', context: {} })));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBeTruthy();

    const id = created.body.id;
    expect((await call(get(`/v1/actions/${id}`, h.token, '/v1/actions/{id}'))).status).toBe(200);
    expect((await call(get(`/v1/actions/${id}?wait=0&status=queued`, h.token, '/v1/actions/{id}'))).status).toBe(200);
    expect((await call(get(`/v1/actions/${id}?wait=nope`, h.token, '/v1/actions/{id}'))).status).toBe(400);
    expect((await call(get('/v1/actions/act_missing', h.token, '/v1/actions/{id}'))).status).toBe(404);
    expect((await call(get(`/v1/actions/${id}`, null, '/v1/actions/{id}'))).status).toBe(401);

    const task = await call(post('/v1/tasks', h.token, { description: 'conformance' }));
    expect(task.status).toBe(201);
    expect((await call(post('/v1/tasks', h.token, { bogus: 1 }))).status).toBe(422);
    expect((await call(get(`/v1/tasks/${task.body.id}`, h.token, '/v1/tasks/{id}'))).status).toBe(200);
    expect((await call(get('/v1/tasks/tsk_missing', h.token, '/v1/tasks/{id}'))).status).toBe(404);
    expect((await call(post(`/v1/tasks/${task.body.id}/close`, h.token, {}, {}, '/v1/tasks/{id}/close'))).status).toBe(200);
    expect((await call(post('/v1/tasks/tsk_missing/close', h.token, {}, {}, '/v1/tasks/{id}/close'))).status).toBe(404);
  });

  it('MCP: a JSON-RPC answer, a notification, and the transport’s 400/406/415 refusals', async () => {
    const accept = { accept: 'application/json, text/event-stream' };
    const list = await call(post('/mcp', h.token, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, accept));
    expect(list.status).toBe(200);
    expect((await call(post('/mcp', h.token, { jsonrpc: '2.0', method: 'notifications/initialized' }, accept))).status).toBe(202);
    expect((await call(post('/mcp', h.token, '{"jsonrpc":', accept))).status).toBe(400);
    expect((await call(post('/mcp', h.token, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, { accept: 'text/html' }))).status).toBe(406);
    expect((await call({ ...post('/mcp', h.token, '{}', accept), headers: { authorization: `Bearer ${h.token}`, 'content-type': 'text/plain', ...accept } })).status).toBe(415);
    expect((await call(post('/mcp', null, { jsonrpc: '2.0', id: 1, method: 'tools/list' }, accept))).status).toBe(401);
  });

  it('operations, audit, keys and Slack routes', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/.well-known/countersign-keys']) expect((await call(get(path, null))).status).toBe(200);
    expect((await call(get('/v1/audit?limit=2', ADMIN))).status).toBe(200);
    expect((await call(get('/v1/audit?limit=zero', ADMIN))).status).toBe(400);
    expect((await call(get('/v1/audit', null))).status).toBe(401);
    expect((await call(get('/v1/audit', h.token))).status).toBe(403);
    expect((await call({ method: 'POST', path: '/slack/events', template: '/slack/events', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'payload=%7B%7D' })).status).toBe(401);
  });

  it('admin routes', async () => {
    expect((await call(post('/v1/admin/agents', ADMIN, { name: 'conf-bot', scopes: ['external_automation.read.*'] }))).status).toBe(201);
    expect((await call(post('/v1/admin/agents', ADMIN, { name: 'conf-bot', scopes: ['external_automation.read.*'] }))).status).toBe(409);
    expect((await call(post('/v1/admin/agents', ADMIN, { name: 'conf-bot' }))).status).toBe(422);
    expect((await call(get('/v1/admin/agents', ADMIN))).status).toBe(200);
    expect((await call(get('/v1/admin/agents', null))).status).toBe(401);
    expect((await call(get('/v1/admin/agents', h.token))).status).toBe(403);
    expect((await call(get('/v1/admin/agents/conf-bot', ADMIN, '/v1/admin/agents/{name}'))).status).toBe(200);
    expect((await call(get('/v1/admin/agents/nobody', ADMIN, '/v1/admin/agents/{name}'))).status).toBe(404);
    const patch = { ...post('/v1/admin/agents/conf-bot', ADMIN, { owner: 'ops' }, {}, '/v1/admin/agents/{name}'), method: 'PATCH' };
    expect((await call(patch)).status).toBe(200);
    expect((await call(post('/v1/admin/agents/conf-bot/rotate', ADMIN, { grace: '1h' }, {}, '/v1/admin/agents/{name}/rotate'))).status).toBe(201);
    expect((await call(post('/v1/admin/agents/conf-bot/revoke', ADMIN, {}, {}, '/v1/admin/agents/{name}/revoke'))).status).toBe(200);
    expect((await call(post('/v1/admin/agents/conf-bot/kill', ADMIN, {}, {}, '/v1/admin/agents/{name}/kill'))).status).toBe(200);
    expect((await call(post('/v1/admin/agents/conf-bot/resume', ADMIN, {}, {}, '/v1/admin/agents/{name}/resume'))).status).toBe(200);
    expect((await call(post('/v1/admin/kill-all', ADMIN, { reason: 'conformance' }))).status).toBe(200);
    expect((await call(get('/v1/admin/grants?active=true', ADMIN))).status).toBe(200);
    expect((await call(get('/v1/admin/grants?active=maybe', ADMIN))).status).toBe(400);
    expect((await call(get('/v1/admin/grants/grt_nope', ADMIN, '/v1/admin/grants/{id}'))).status).toBe(404);
    expect((await call(post('/v1/admin/grants/grt_nope/revoke', ADMIN, {}, {}, '/v1/admin/grants/{id}/revoke'))).status).toBe(404);
  });

  it('sandbox routes', async () => {
    const base = sh.app.url;
    expect((await call({ ...get('/sandbox/', null, '/sandbox'), base })).status).toBe(200);
    expect((await call({ ...get('/sandbox/assets/sandbox.js', null, '/sandbox/assets/{file}'), base })).status).toBe(200);
    expect((await call({ ...get('/sandbox/assets/nope.js', null, '/sandbox/assets/{file}'), base })).status).toBe(404);
    expect((await call({ ...get('/sandbox/state', null), base })).status).toBe(200);
    expect((await call({ ...get('/sandbox/events', null), base, stream: true })).status).toBe(200);
    for (const name of ['click', 'command', 'submit', 'close-view']) {
      expect((await call({ ...post(`/sandbox/${name}`, null, { user: 'U0NOBODY' }), base })).status, name).toBe(400);
    }
    expect((await call({ ...post('/sandbox/click', null, 'x'), headers: { 'content-type': 'text/plain' }, base })).status).toBe(415);
    expect((await call({ ...post('/sandbox/demo-agent', null, {}), base })).status).toBe(201);
    expect((await call({ ...post('/sandbox/demo-agent', null, 'x'), headers: { 'content-type': 'text/plain' }, base })).status).toBe(415);
    expect((await call({ ...post('/sandbox/executor', null, {}), base })).status).toBe(401);
    expect((await call({ ...post('/sandbox/executor/prepare', null, {}), base })).status).toBe(401);
    expect((await call({ ...post('/sandbox/executor/revise', null, {}), base })).status).toBe(200);
  });

  it('exercised every documented operation', () => {
    const documented = Object.values<any>(doc.paths).flatMap((ops) => Object.values<any>(ops).map((op) => op.operationId as string));
    expect(documented.filter((id) => !exercised.has(id))).toEqual([]);
  });
});
