import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { actionRequest, startHarness, type Harness } from '../support/harness';
import { API_OPERATIONS } from '../../src/openapi';

const ADMIN = 'bootstrap-admin-token-query-params-0123456789';
let h: Harness;
let actionId: string;

beforeAll(async () => {
  h = await startHarness({ start: { workers: false }, env: { COUNTERSIGN_ADMIN_TOKEN: ADMIN } });
  const created = await h.post(actionRequest({ action_class: 'external_automation.read.jobs', context: {} }));
  expect(created.status).toBe(201);
  actionId = created.body.id;
});
afterAll(async () => {
  await h?.close();
});

/** Values to try, first one the parameter's schema refuses wins: each kind of query malformation there is. */
const CANDIDATES: Array<string | string[]> = ['not-a-valid-value', '-1', '1.5', '999999999', '', 'x'.repeat(300), ['1', '2']];

function malformed(schema: z.ZodObject, name: string): string | string[] | null {
  return CANDIDATES.find((v) => !schema.safeParse({ [name]: v }).success) ?? null;
}

describe('malformed query parameters', () => {
  const withQuery = API_OPERATIONS.filter((op) => op.request?.query && !op.mode);

  it('are found on more than one route (the check below covers them all)', () => {
    expect(withQuery.map((op) => op.operationId).sort()).toEqual(expect.arrayContaining(['getAction', 'listAuditEvents']));
  });

  it('answer 400 invalid-request with the parameter named, on every route that takes a query', async () => {
    let checked = 0;
    for (const op of withQuery) {
      const schema = op.request!.query!;
      for (const name of Object.keys(schema.shape)) {
        const value = malformed(schema, name);
        expect(value, `${op.operationId} ${name}: no malformed value found`).not.toBeNull();
        const query = new URLSearchParams();
        for (const v of Array.isArray(value) ? value : [value!]) query.append(name, v);
        const path = op.path.replace('{id}', actionId);
        const res = await fetch(`${h.app.url}${path}?${query}`, {
          method: op.method.toUpperCase(),
          headers: { authorization: `Bearer ${op.auth === 'admin' ? ADMIN : h.token}` },
        });
        const body = (await res.json()) as { code?: string; status?: number; retryable?: boolean; errors?: Array<{ path: string }> };
        const label = `${op.method} ${op.path}?${query}`;
        expect(res.status, label).toBe(400);
        expect(res.headers.get('content-type'), label).toContain('application/problem+json');
        expect(body, label).toMatchObject({ code: 'invalid-request', status: 400, retryable: false });
        expect(body.errors?.map((e) => e.path), label).toContain(name);
        // The document says so too.
        expect(op.problems, label).toContain('invalid-request');
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(5);
  });

  it('do not stop a well-formed query', async () => {
    expect((await h.get(`/v1/actions/${actionId}?wait=0`)).status).toBe(200);
    const res = await fetch(`${h.app.url}/v1/audit?limit=5&order=desc`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(200);
  });
});
