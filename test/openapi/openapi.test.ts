import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Ajv2020 from 'ajv/dist/2020.js';
import { actionRequest, startHarness, type Harness } from '../support/harness';
import { API_OPERATIONS, buildOpenApiDocument, openApiDocument } from '../../src/openapi';
import { startSandbox } from '../../src/sandbox';
import { mountedRoutes } from './routes';
import { actionStatus } from '../../src/approvals/status';

let h: Harness;
let doc: any;

beforeAll(async () => {
  // Slack configured (its API URL is never called at start-up), so Bolt's /slack/events is mounted too.
  h = await startHarness({ slackApiUrl: 'http://127.0.0.1:9/api/', start: { workers: false } });
  const res = await fetch(`${h.app.url}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('application/json');
  doc = await res.json();
});
afterAll(async () => {
  await h?.close();
});

function ajv() {
  const a = new Ajv2020({ strict: false, allErrors: true });
  a.addSchema({ $id: 'doc', components: doc.components }, 'doc');
  return a;
}
function compile(schema: unknown) {
  // Rewrite local refs so ajv resolves them against the document's components.
  const text = JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/');
  return ajv().compile(JSON.parse(text));
}

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Countersign');
    expect(typeof doc.info.version).toBe('string');
    expect(doc.components.securitySchemes.agentToken).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('documents every route the app mounts (walking the express router stack)', () => {
    const routes = mountedRoutes(h.app.app!);
    expect(routes.length).toBeGreaterThan(5);
    const missing = routes.filter((r) => r.method === 'all' || !doc.paths[r.path]?.[r.method]);
    expect(missing, `routes mounted but not in the OpenAPI document (add them to src/openapi/operations.ts)`).toEqual([]);
  });

  it('documents no route the app does not serve (sandbox-only routes aside)', () => {
    const routes = new Set(mountedRoutes(h.app.app!).map((r) => `${r.method} ${r.path}`));
    const documented = API_OPERATIONS.filter((op) => !op.mode).map((op) => `${op.method} ${op.path}`);
    expect(documented.filter((d) => !routes.has(d))).toEqual([]);
    expect(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops as object).map((m) => `${m} ${path}`)).sort()).toEqual(
      API_OPERATIONS.map((op) => `${op.method} ${op.path}`).sort(),
    );
  });

  it('documents every route of sandbox mode too (the page and its demo executor)', async () => {
    const sandbox = await startSandbox(null);
    const own = await startHarness({ env: sandbox.slackEnv, start: { workers: false, mount: sandbox.mount } });
    try {
      const routes = mountedRoutes(own.app.app!);
      expect(routes.some((r) => r.path.startsWith('/sandbox'))).toBe(true);
      expect(routes.filter((r) => r.method === 'all' || !doc.paths[r.path]?.[r.method])).toEqual([]);
      const served = new Set(routes.map((r) => `${r.method} ${r.path}`));
      expect(API_OPERATIONS.filter((op) => op.mode === 'sandbox' && !served.has(`${op.method} ${op.path}`))).toEqual([]);
    } finally {
      sandbox.beforeClose();
      await own.close();
      await sandbox.close();
    }
  });

  it('takes the request body schema from the zod schema that validates it (strict, required fields)', () => {
    const body = doc.paths['/v1/actions'].post.requestBody.content['application/json'].schema;
    expect(body.additionalProperties).toBe(false);
    expect(body.required).toEqual(['action_class']);
    // The key may come in the Idempotency-Key header instead; the document says so.
    expect(body.properties.idempotency_key.description).toMatch(/Idempotency-Key/);
    expect(doc.paths['/v1/actions'].post.parameters).toEqual([expect.objectContaining({ name: 'Idempotency-Key', in: 'header' })]);
    const validate = compile(body);
    expect(validate(actionRequest())).toBe(true);
    expect(validate({ ...actionRequest(), surprise: 1 })).toBe(false);
    expect(validate({ action_class: 'x.y', surprise: 1 })).toBe(false);
  });

  it('gives the action status as an enum of the lifecycle states', () => {
    for (const schema of [
      doc.paths['/v1/actions'].post.responses['201'].content['application/json'].schema,
      doc.paths['/v1/actions/{id}'].get.responses['200'].content['application/json'].schema,
    ]) {
      expect(schema.properties.status.enum).toEqual([...actionStatus.options]);
    }
  });

  it('documents the long poll query parameters with their bounds', () => {
    const params = doc.paths['/v1/actions/{id}'].get.parameters;
    expect(params).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'id', in: 'path', required: true }),
        expect.objectContaining({ name: 'wait', in: 'query', required: false, schema: expect.objectContaining({ maximum: 60 }) }),
        expect.objectContaining({ name: 'status', in: 'query', required: false }),
      ]),
    );
  });

  it('gives every operation problem+json error responses with the closed set of codes', () => {
    for (const [path, ops] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(ops)) {
        expect(op.responses['500']?.content?.['application/problem+json'], `${method} ${path} 500`).toBeDefined();
        const unavailable = op.responses['503'];
        if (unavailable?.content?.['application/problem+json']) expect(unavailable.headers?.['Retry-After'], `${method} ${path} 503 Retry-After`).toBeDefined();
        else expect(path).toBe('/readyz'); // its 503 is the readiness report, not a problem
      }
    }
    const post = doc.paths['/v1/actions'].post.responses;
    expect(Object.keys(post['429'].content['application/problem+json'].examples)).toEqual(expect.arrayContaining(['rate-limited', 'budget-exhausted']));
    expect(Object.keys(post['403'].content['application/problem+json'].examples)).toEqual(
      expect.arrayContaining(['policy-denied', 'out-of-scope', 'agent-suspended']),
    );
  });

  it('describes what the server really answers: a 201 and a problem validate against the document', async () => {
    const created = await h.post(actionRequest({ action_class: 'external_automation.read.jobs', context: {} }));
    expect(created.status).toBe(201);
    const ok = compile(doc.paths['/v1/actions'].post.responses['201'].content['application/json'].schema);
    expect(ok(created.body), JSON.stringify(ok.errors)).toBe(true);

    const got = await h.get(`/v1/actions/${created.body.id}`);
    const view = compile(doc.paths['/v1/actions/{id}'].get.responses['200'].content['application/json'].schema);
    expect(view(got.body), JSON.stringify(view.errors)).toBe(true);

    const bad = await h.post({ action_class: 'external_automation.read.jobs' });
    expect(bad.status).toBe(422);
    const problem = compile(doc.paths['/v1/actions'].post.responses['422'].content['application/problem+json'].schema);
    expect(problem(bad.body), JSON.stringify(problem.errors)).toBe(true);
    expect(problem({ ...bad.body, code: 'not-a-code' })).toBe(false);
  });

  it('has only local references that resolve', () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(ref.startsWith('#/')).toBe(true);
      const target = ref.slice(2).split('/').reduce<any>((o, k) => o?.[k], doc);
      expect(target, ref).toBeDefined();
    }
  });

  it('is built the same way for any operation list (a route added by another feature is documented by listing it)', () => {
    const built: any = buildOpenApiDocument(
      [{ method: 'get', path: '/v1/admin/things/{id}', operationId: 'x', summary: 's', tags: ['admin'], auth: 'admin', responses: { 200: { description: 'ok' } }, problems: ['forbidden'] }],
      { version: '0' },
    );
    expect(built.paths['/v1/admin/things/{id}'].get.security).toEqual([{ adminToken: [] }]);
    expect(built.paths['/v1/admin/things/{id}'].get.responses['403']).toBeDefined();
    expect(openApiDocument()).toEqual(doc);
  });
});
