import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from '../../src/db/schema';
import { createActionRequestChecked } from '../../src/intake/schemas';
import { MAX_JSON_DEPTH, findJsonFlaw, jsonTextDepth } from '../../src/lib/json-guard';
import { actionRequest, startHarness, type Harness } from '../support/harness';

const ADMIN_TOKEN = 'hostile-input-admin-token-0123456789';
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { COUNTERSIGN_ADMIN_TOKEN: ADMIN_TOKEN } });
});
afterAll(async () => {
  await h?.close();
});

const countActions = async () => (await h.db.db.select().from(actions)).length;

function expectProblem(res: { status: number; body: any; headers?: Headers }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toMatchObject({ type: `https://countersign.dev/problems/${code}`, status, code, retryable: false });
}

/** `[[[…"x"…]]]` nested `depth` levels deep, as JSON text (JSON.stringify itself would recurse). */
const nestedArrays = (depth: number) => `${'['.repeat(depth)}"x"${']'.repeat(depth)}`;

/** A request body whose params hold `inner` (JSON text) under `deep`. */
const bodyWith = (inner: string) => JSON.stringify(actionRequest({ params: { deep: '__INNER__', target_count: 3 } })).replace('"__INNER__"', inner);

async function mcp(body: string, token = h.token) {
  const res = await fetch(`${h.app.url}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

const toolCall = (args: string) =>
  `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"request_action","arguments":${args}}}`;

describe('deep nesting', () => {
  it('a body nested 10,000 arrays deep → 422 validation-failed, nothing recorded, the server still answers', async () => {
    const res = await h.post(null, { raw: bodyWith(nestedArrays(10_000)) });
    expectProblem(res, 422, 'validation-failed');
    expect(res.body.errors[0]).toMatchObject({ code: 'too_deep' });
    expect(res.body.detail).toContain(`${MAX_JSON_DEPTH} levels`);
    expect(await countActions()).toBe(0);
    expect((await fetch(`${h.app.url}/healthz`)).status).toBe(200);
  });

  it('the cap is exact: 64 levels in all are taken, 65 are not', async () => {
    // The body is level 1 and params level 2, so params.deep may hold 62 levels of arrays.
    const ok = await h.post(null, { raw: bodyWith(nestedArrays(MAX_JSON_DEPTH - 2)) });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    const over = await h.post(null, { raw: bodyWith(nestedArrays(MAX_JSON_DEPTH - 1)) });
    expectProblem(over, 422, 'validation-failed');
  });

  it('brackets inside strings do not count as nesting', async () => {
    const res = await h.post(actionRequest({ params: { name: '['.repeat(500), other: '{'.repeat(500), target_count: 3 } }));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  it('over MCP: a tool call nested 10,000 deep → 422 before the SDK or the intake walk it', async () => {
    const before = await countActions();
    const args = JSON.stringify(actionRequest({ params: { deep: '__INNER__', target_count: 3 } })).replace('"__INNER__"', nestedArrays(10_000));
    const res = await mcp(toolCall(args));
    expectProblem(res, 422, 'validation-failed');
    expect(await countActions()).toBe(before);
  });

  it('the intake refuses deep values whichever way they come in (tool arguments are checked again there)', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const parsed = createActionRequestChecked.safeParse(actionRequest({ params: { deep } }));
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.message).toContain('levels');
    // The path is where the cap was crossed, built once: 62 array indexes under params.deep.
    expect(parsed.error!.issues[0]!.path.slice(0, 2)).toEqual(['params', 'deep']);
    expect(parsed.error!.issues[0]!.path).toHaveLength(2 + MAX_JSON_DEPTH - 2);
  });

  it('jsonTextDepth and findJsonFlaw agree on the depth of the same document', () => {
    for (const depth of [1, 2, 63, 64, 65, 200]) {
      const text = nestedArrays(depth);
      expect(jsonTextDepth(text) > MAX_JSON_DEPTH).toBe(depth > MAX_JSON_DEPTH);
      expect(findJsonFlaw(JSON.parse(text)) !== null).toBe(depth > MAX_JSON_DEPTH);
    }
  });
});

describe('values PostgreSQL cannot store', () => {
  it('a lone surrogate anywhere (value or key) → 422 with its path, nothing recorded', async () => {
    const before = await countActions();
    const inValue = await h.post(null, { raw: JSON.stringify(actionRequest({ params: { password: 'hunter2', note: '__S__', target_count: 3 } })).replace('"__S__"', '"a\\ud800b"') });
    expectProblem(inValue, 422, 'validation-failed');
    expect(inValue.body.errors).toEqual([{ path: 'params.note', message: expect.stringContaining('lone surrogate'), code: 'lone_surrogate' }]);
    const inKey = await h.post(null, { raw: JSON.stringify(actionRequest({ context: { __K__: 1 } })).replace('"__K__"', '"\\udc00"') });
    expectProblem(inKey, 422, 'validation-failed');
    expect(inKey.body.errors[0].path).toBe('context.\udc00');
    const inJustification = await h.post(null, { raw: JSON.stringify(actionRequest({ justification: '__S__' })).replace('"__S__"', '"why \\udbff"') });
    expectProblem(inJustification, 422, 'validation-failed');
    expect(inJustification.body.errors[0].path).toBe('justification');
    expect(await countActions()).toBe(before);
  });

  it('a proper surrogate pair (an emoji) is fine', async () => {
    const res = await h.post(null, { raw: JSON.stringify(actionRequest({ params: { note: '__S__', target_count: 3 } })).replace('"__S__"', '"ok \\ud83d\\ude00"') });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  it('a number that overflows to Infinity (1e999, -1e999) → 422 with its path', async () => {
    for (const n of ['1e999', '-1e999']) {
      const res = await h.post(null, { raw: JSON.stringify(actionRequest({ params: { name: 'n', target_count: 0 } })).replace('"target_count":0', `"target_count":${n}`) });
      expectProblem(res, 422, 'validation-failed');
      expect(res.body.errors).toEqual([{ path: 'params.target_count', message: 'must be a finite number', code: 'not_finite' }]);
    }
  });
});

describe('path and query parameters', () => {
  const admin = (path: string) => fetch(`${h.app.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const agent = (path: string) => fetch(`${h.app.url}${path}`, { headers: { authorization: `Bearer ${h.token}` } });
  const read = async (res: Response) => ({ status: res.status, body: await res.json(), type: res.headers.get('content-type') });

  it.each([
    ['an action id with NUL', () => agent('/v1/actions/act_%00x')],
    ['an action id that is not UTF-8', () => agent('/v1/actions/act_%ED%A0%80')],
    ['an agent name with NUL (admin)', () => admin('/v1/admin/agents/a%00b')],
    ['an agent name with NUL, deeper (admin)', () => admin('/v1/admin/agents/a%00b/tokens')],
    ['a NUL in an audit filter', () => admin('/v1/audit?agent=a%00b')],
    ['a NUL in a query parameter name', () => agent('/v1/actions/act_x?%00=1')],
    ['a year PostgreSQL cannot store', () => admin('/v1/audit?since=275760-09-13')],
    ['a NUL on a route nobody serves', () => agent('/v1/nothing%00here')],
  ])('%s → 400 invalid-request, not retryable', async (_name, call) => {
    const res = await read(await call());
    expect(res.type).toContain('application/problem+json');
    expectProblem(res, 400, 'invalid-request');
  });
});

describe('credentials inside URLs', () => {
  it('are redacted in the stored evidence, the rest of the URL kept', async () => {
    const res = await h.post(actionRequest({ params: { name: 'sync', source: 'postgres://svc:url-secret-42@db.internal:5432/app', notes: ['mirror to redis://:r3dis-secret@cache:6379'], target_count: 3 } }));
    expect(res.status).toBe(201);
    const [requested] = await h.events(res.body.id, 'action.requested');
    const data = JSON.stringify(requested!.data);
    expect(data).not.toContain('url-secret-42');
    expect(data).not.toContain('r3dis-secret');
    expect((requested!.data.params as Record<string, unknown>).source).toBe('postgres://svc:[REDACTED]@db.internal:5432/app');
  });
});
