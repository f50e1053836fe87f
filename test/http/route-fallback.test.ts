import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/harness';
import { startSandbox, type Sandbox } from '../../src/sandbox';
import { mountedRoutes } from '../openapi/routes';

const ADMIN = 'bootstrap-admin-token-route-fallback-0123456789';
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

let h: Harness;
let sandbox: Sandbox;
let sh: Harness;

beforeAll(async () => {
  h = await startHarness({ slackApiUrl: 'http://127.0.0.1:9/api/', start: { workers: false }, env: { COUNTERSIGN_ADMIN_TOKEN: ADMIN } });
  sandbox = await startSandbox(null);
  sh = await startHarness({ env: { ...sandbox.slackEnv, COUNTERSIGN_ADMIN_TOKEN: ADMIN }, start: { workers: false, mount: sandbox.mount } });
});
afterAll(async () => {
  sandbox?.beforeClose();
  await h?.close();
  await sh?.close();
  await sandbox?.close();
});

async function send(base: string, method: string, path: string) {
  const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: method === 'GET' ? undefined : '{}' });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', allow: res.headers.get('allow'), text, body: text.startsWith('{') ? JSON.parse(text) : null };
}

/** Every mounted path with the methods it serves (HEAD comes with GET). */
function pathsOf(h: Harness): Map<string, Set<string>> {
  const paths = new Map<string, Set<string>>();
  for (const r of mountedRoutes(h.app.app!)) {
    const concrete = r.path.replace(/\{[^}]+\}/g, 'x');
    if (!paths.has(concrete)) paths.set(concrete, new Set());
    paths.get(concrete)!.add(r.method.toUpperCase());
  }
  for (const methods of paths.values()) if (methods.has('GET')) methods.add('HEAD');
  return paths;
}

describe('routes nobody serves', () => {
  it('answer 404 problem+json for an unknown path (never the framework’s HTML page)', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['POST', '/v1/nope'],
      ['GET', '/v1/actions'],
      ['GET', '/v1/admin/nope'],
      ['DELETE', '/v1/audit/x/y'],
      ['GET', '/'],
    ] as const) {
      const res = await send(h.app.url, method, path);
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(path === '/v1/actions' ? 405 : 404);
      expect(res.type, `${method} ${path}`).toContain('application/problem+json');
      expect(res.text).not.toMatch(/<html|<pre>/i);
      if (res.status === 404) expect(res.body).toMatchObject({ status: 404, code: 'not-found', retryable: false });
    }
  });

  it('answer 405 problem+json with Allow for a wrong method on every mounted route', async () => {
    for (const [base, app] of [
      [h.app.url, h],
      [sh.app.url, sh],
    ] as const) {
      const paths = pathsOf(app);
      expect(paths.size).toBeGreaterThan(10);
      for (const [path, served] of paths) {
        const wrong = METHODS.find((m) => !served.has(m));
        if (!wrong) continue;
        const res = await send(base, wrong, path);
        expect(res.status, `${wrong} ${path}: ${res.text}`).toBe(405);
        expect(res.type, `${wrong} ${path}`).toContain('application/problem+json');
        expect(res.body).toMatchObject({ status: 405, code: 'method-not-allowed', retryable: false });
        expect(new Set(res.allow!.split(', ')), `${wrong} ${path} Allow`).toEqual(served);
        expect(new Set(res.body.allow)).toEqual(served);
      }
    }
  });

  it('answers GET and DELETE on the stateless /mcp endpoint with 405 and Allow: POST', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${h.app.url}/mcp`, { method, headers: { authorization: `Bearer ${h.token}` } });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
    }
  });

  it('still lets the served methods through (the fallback only sees what nothing answered)', async () => {
    expect((await send(h.app.url, 'GET', '/healthz')).status).toBe(200);
    expect((await send(h.app.url, 'GET', '/v1/admin/agents')).status).toBe(200);
    expect((await send(sh.app.url, 'GET', '/sandbox/state')).status).toBe(200);
  });
});
