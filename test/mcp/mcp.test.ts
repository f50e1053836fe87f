import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { eq } from 'drizzle-orm';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { createAgent } from '../../src/auth/agents';
import { actions, auditEvents } from '../../src/db/schema';
import { actionRequest, eventually, startHarness, type Harness } from '../support/harness';

let h: Harness;
const open: Client[] = [];

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  for (const c of open) await c.close().catch(() => undefined);
  await h?.close();
});

async function connect(token: string | null): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${h.app.url}/mcp`), {
    requestInit: { headers: token === null ? {} : { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(transport);
  open.push(client);
  return client;
}

function body(result: any): any {
  expect(result.content[0].type).toBe('text');
  const parsed = JSON.parse(result.content[0].text);
  expect(result.structuredContent).toEqual(parsed);
  return parsed;
}

/** Tool arguments: the request body, idempotency key included (required). */
const workflow = () => actionRequest();
const key = () => `mcp-${Math.random().toString(36).slice(2)}`;

describe('MCP endpoint (official SDK client over Streamable HTTP)', () => {
  it('lists the three tools with input schemas from the request schema', async () => {
    const client = await connect(h.token);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['get_action_status', 'list_pending_approvals', 'request_action']);
    const request = tools.find((t) => t.name === 'request_action')!;
    expect(request.inputSchema.required).toEqual(expect.arrayContaining(['action_class', 'idempotency_key']));
    expect(Object.keys(request.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(['params', 'context', 'justification', 'dry_run']));
  });

  it('requests an allowed action and sees it committed', async () => {
    const client = await connect(h.token);
    const idempotency_key = key();
    const res = await client.callTool({ name: 'request_action', arguments: { action_class: 'external_automation.read.jobs', context: {}, justification: 'look', idempotency_key } });
    expect(res.isError).toBeFalsy();
    const action = body(res);
    expect(action.status).toBe('queued');
    expect(action.agent_id).toBe(h.agentId);
    expect(action.idempotency_key).toBe(idempotency_key);
    const done = await eventually(async () => {
      const r = body(await client.callTool({ name: 'get_action_status', arguments: { action_id: action.id, wait_seconds: 5 } }));
      return r.status === 'committed' ? r : null;
    }, 15_000, 'committed');
    expect(done.result).toMatchObject({ ok: true });
  });

  it('records evidence as the agent, exactly as over HTTP', async () => {
    const client = await connect(h.token);
    const action = body(await client.callTool({ name: 'request_action', arguments: workflow() }));
    const events = await h.db.db.select().from(auditEvents).where(eq(auditEvents.actionId, action.id));
    expect(events.find((e) => e.type === 'action.requested')?.actor).toBe(`agent:${h.agentId}`);
  });

  it('replays a retried call with the same idempotency key instead of creating a second action', async () => {
    const client = await connect(h.token);
    const args = { ...workflow(), idempotency_key: `mcp-retry-${Date.now()}` };
    const first = body(await client.callTool({ name: 'request_action', arguments: args }));
    const second = body(await client.callTool({ name: 'request_action', arguments: args }));
    expect(second.id).toBe(first.id);
    const rows = await h.db.db.select().from(actions).where(eq(actions.idempotencyKey, args.idempotency_key));
    expect(rows).toHaveLength(1);
  });

  it('never invents an idempotency key: a call without one is refused and records nothing', async () => {
    const client = await connect(h.token);
    const before = await h.db.sql`select count(*)::int as n from actions`;
    const { idempotency_key: _k, ...args } = workflow();
    const res = await client.callTool({ name: 'request_action', arguments: args }).catch((e: Error) => e);
    if (res instanceof Error) expect(res.message).toMatch(/idempotency_key/);
    else {
      expect(res.isError).toBe(true);
      expect(JSON.stringify(res.content)).toMatch(/idempotency_key/);
    }
    // Sent twice, as a retrying host would: still nothing.
    await client.callTool({ name: 'request_action', arguments: args }).catch(() => undefined);
    const after = await h.db.sql`select count(*)::int as n from actions`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it("lists only the agent's own pending approvals", async () => {
    const client = await connect(h.token);
    const mine = body(await client.callTool({ name: 'request_action', arguments: workflow() }));
    expect(mine.status).toBe('pending_approval');
    const { token: otherToken } = await createAgent(h.db.db, { name: 'mcp-other', scopes: ['external_automation.*'] }, 'admin:test');
    const other = await connect(otherToken);
    const theirs = body(await other.callTool({ name: 'request_action', arguments: workflow() }));

    const listed = body(await client.callTool({ name: 'list_pending_approvals', arguments: {} }));
    const ids = listed.actions.map((a: { id: string }) => a.id);
    expect(ids).toContain(mine.id);
    expect(ids).not.toContain(theirs.id);
    expect(listed.actions.every((a: { status: string }) => a.status === 'pending_approval')).toBe(true);

    // Another agent's action is as invisible as a missing one.
    const peek = await client.callTool({ name: 'get_action_status', arguments: { action_id: theirs.id } });
    expect(peek.isError).toBe(true);
    expect(body(peek).code).toBe('not-found');
  });

  it('returns policy denials and bad input as tool errors carrying the problem', async () => {
    const client = await connect(h.token);
    const denied = await client.callTool({ name: 'request_action', arguments: { action_class: 'external_automation.credentials.read', context: {}, idempotency_key: key() } });
    expect(denied.isError).toBe(true);
    expect(body(denied)).toMatchObject({ code: 'policy-denied', retryable: false });

    const scope = await client.callTool({ name: 'request_action', arguments: { action_class: 'payments.refund.create', context: {}, idempotency_key: key() } });
    expect(scope.isError).toBe(true);
    expect(body(scope).code).toBe('out-of-scope');

    const badShape = await client.callTool({ name: 'request_action', arguments: { action_class: 'Not A Class', idempotency_key: key() } });
    expect(badShape.isError).toBe(true);
    expect(body(badShape).code).toBe('invalid-action-class');
  });

  it('rejects arguments that break the tool schema', async () => {
    const client = await connect(h.token);
    const res = await client.callTool({ name: 'request_action', arguments: { action_class: 'external_automation.read.jobs', idempotency_key: key(), surprise: true } }).catch((e) => e);
    // Either a protocol error or an error result, but never an action.
    if (res instanceof Error) expect(res.message).toMatch(/surprise|Unrecognized|invalid/i);
    else expect(res.isError).toBe(true);
    const count = await h.db.sql`select count(*)::int as n from actions where params::text like '%surprise%'`;
    expect(count[0]!.n).toBe(0);
  });
});

describe('MCP protocol conformance', () => {
  it('compiles every tool input and output schema under ajv strict mode', async () => {
    const client = await connect(h.token);
    const { tools } = await client.listTools();
    expect(tools.length).toBe(3);
    let compiled = 0;
    for (const tool of tools) {
      for (const [which, schema] of [
        ['input', tool.inputSchema],
        ['output', tool.outputSchema],
      ] as const) {
        if (!schema) continue;
        const ajv = new Ajv2020({ strict: true, allErrors: true });
        addFormats(ajv);
        const { $schema: _draft, ...rest } = schema as Record<string, unknown>;
        expect(() => ajv.compile(rest), `${tool.name} ${which}`).not.toThrow();
        compiled++;
      }
    }
    expect(compiled).toBeGreaterThanOrEqual(3);
  });

  it('refuses what strict mode refuses (the check above can fail)', () => {
    const ajv = new Ajv2020({ strict: true });
    addFormats(ajv);
    expect(() => ajv.compile({ type: 'object', properties: { action_id: { type: 'string', format: 'starts_with' } } })).toThrow(/format/);
  });

  it('answers a body that is not JSON with JSON-RPC -32700', async () => {
    const res = await fetch(`${h.app.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{"jsonrpc": "2.0", "id": 1, "method": "tools/list"',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(await res.json()).toEqual({ jsonrpc: '2.0', error: { code: -32700, message: expect.stringMatching(/^Parse error/) }, id: null });
  });
});

describe('MCP authentication', () => {
  it('refuses a missing token with 401 and a problem', async () => {
    await expect(connect(null)).rejects.toThrow(/401|unauthenticated|bearer/i);
    const res = await fetch(`${h.app.url}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('refuses an unknown or revoked token', async () => {
    await expect(connect('csa_forged0000000000000000000000000000000000000')).rejects.toThrow(/401|invalid|unauthenticated/i);
    await h.db.sql`update agent_tokens set revoked_at = now() where agent_id = (select id from agents where name = 'mcp-other')`;
    const res = await fetch(`${h.app.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
  });

  it('answers GET and DELETE with 405 and Allow: POST (stateless endpoint)', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(`${h.app.url}/mcp`, { method, headers: { authorization: `Bearer ${h.token}` } });
      expect(res.status, method).toBe(405);
      expect(res.headers.get('allow'), method).toBe('POST');
    }
  });

  it('shows the official SDK client a wrong token as a refusal, with nothing that starts an OAuth flow', async () => {
    const err = (await connect('csa_wrong000000000000000000000000000000000000').catch((e: unknown) => e)) as Error & { code?: number };
    expect(err).toBeInstanceOf(Error);
    expect(err.constructor.name).toBe('StreamableHTTPError');
    expect(err.code).toBe(401);
    // The problem body reaches the caller: it can tell a bad token from a broken server.
    expect(err.message).toContain('unauthenticated');
    const res = await fetch(`${h.app.url}/mcp`, {
      method: 'POST',
      headers: { authorization: 'Bearer csa_wrong', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    // No OAuth protected-resource metadata is advertised (RFC 9728), so an MCP host does not try to log in.
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).not.toMatch(/resource_metadata|as_uri|authorization_uri/i);
    const metadata = await fetch(`${h.app.url}/.well-known/oauth-protected-resource`);
    expect(metadata.status).toBe(404);
    expect(metadata.headers.get('content-type')).toContain('application/problem+json');
  });
});
