import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendEvents } from '../../src/audit/append';
import { exportEvents } from '../../src/audit/export';
import { csvField } from '../../src/audit/event-view';
import { decodeCursor, encodeCursor, queryEvents } from '../../src/audit/query';
import { runAuditCommand } from '../../src/cli/audit';
import { createAdminCredential } from '../../src/auth/admin';
import { actionRequest, startHarness, type Harness } from '../support/harness';
import { captureIo } from './support';

const ADMIN_TOKEN = 'bootstrap-admin-token-0123456789abcdef';
let h: Harness;
let adminToken: string;
const saved = process.env.DATABASE_URL;
const ids: string[] = [];
let corr = '';

beforeAll(async () => {
  h = await startHarness({ env: { COUNTERSIGN_ADMIN_TOKEN: ADMIN_TOKEN }, start: { workers: false } });
  process.env.DATABASE_URL = h.db.url;
  adminToken = (await createAdminCredential(h.db.db, 'auditor-bot', 'admin:test')).token;
  for (let i = 0; i < 4; i++) {
    const req = actionRequest(i === 3 ? { correlation_id: 'corr-shared-1', params: { name: 'x', note: 'a, "quoted"\nline', password: 'pw', target_count: 3 } } : {});
    const res = await h.post(req);
    ids.push(res.body.id);
  }
  corr = 'corr-shared-1';
});
afterAll(async () => {
  if (saved === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = saved;
  await h.close();
});

async function audit(query: string, token: string | null = adminToken) {
  const res = await fetch(`${h.app.url}/v1/audit${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as any };
}

describe('GET /v1/audit — security', () => {
  it('needs a credential (401) and refuses agent tokens (403)', async () => {
    expect((await audit('', null)).status).toBe(401);
    const asAgent = await audit('', h.token);
    expect(asAgent.status).toBe(403);
    expect(asAgent.body.code).toBe('forbidden');
  });

  it('takes the bootstrap admin token and stored admin credentials', async () => {
    expect((await audit('', ADMIN_TOKEN)).status).toBe(200);
    expect((await audit('')).status).toBe(200);
  });

  it('refuses malformed filters and foreign cursors', async () => {
    expect((await audit('?limit=0')).status).toBe(400);
    expect((await audit('?since=not-a-date')).status).toBe(400);
    expect((await audit('?cursor=abc')).status).toBe(400);
    expect((await audit('?bogus=1')).status).toBe(400);
  });
});

describe('GET /v1/audit — filters and pagination', () => {
  it('filters by action, correlation id, agent (id or name), actor and type', async () => {
    const byAction = await audit(`?action_id=${ids[0]}`);
    expect(byAction.body.events.map((e: any) => e.type)).toEqual(['action.requested', 'policy.decided']);
    expect(byAction.body.events.every((e: any) => e.action_id === ids[0])).toBe(true);
    const byCorr = await audit(`?correlation_id=${corr}`);
    expect(byCorr.body.events).toHaveLength(2);
    const byAgentId = await audit(`?agent_id=${h.agentId}&type=action.requested`);
    expect(byAgentId.body.events).toHaveLength(4);
    const byAgentName = await audit(`?agent=deploy-bot&type=action.requested`);
    expect(byAgentName.body.events.map((e: any) => e.id)).toEqual(byAgentId.body.events.map((e: any) => e.id));
    expect((await audit('?agent=nobody')).body.events).toEqual([]);
    const byActor = await audit(`?actor=agent:${h.agentId}`);
    expect(byActor.body.events.every((e: any) => e.type === 'action.requested')).toBe(true);
  });

  it('filters by time range', async () => {
    const all = (await audit('?limit=500')).body.events as any[];
    const mid = all[Math.floor(all.length / 2)]!;
    const after = (await audit(`?since=${encodeURIComponent(mid.created_at)}&limit=500`)).body.events as any[];
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((e) => e.created_at >= mid.created_at)).toBe(true);
    expect(after.map((e) => e.seq)).toEqual(all.filter((e) => e.created_at >= mid.created_at).map((e) => e.seq));
    const before = (await audit(`?until=${encodeURIComponent(mid.created_at)}&limit=500`)).body.events as any[];
    expect(before.length + after.length).toBe(all.length);
    expect((await audit(`?since=${encodeURIComponent(new Date(Date.now() + 3600_000).toISOString())}`)).body.events).toEqual([]);
  });

  it('pages with an opaque keyset cursor, in chain order or newest first, without gaps or repeats', async () => {
    const all = (await audit('?limit=500')).body.events.map((e: any) => e.seq) as number[];
    expect(all).toEqual([...all].sort((a, b) => a - b));
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: any } = await audit(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.body.events.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.events.map((e: any) => e.seq));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toEqual(all);
    const desc = (await audit('?order=desc&limit=2')).body;
    expect(desc.events.map((e: any) => e.seq)).toEqual([...all].reverse().slice(0, 2));
    const next = (await audit(`?order=desc&limit=2&cursor=${desc.next_cursor}`)).body;
    expect(next.events.map((e: any) => e.seq)).toEqual([...all].reverse().slice(2, 4));
  });

  it('cursors round-trip', () => {
    expect(decodeCursor(encodeCursor(123456789))).toBe(123456789);
    expect(decodeCursor('garbage')).toBeNull();
  });

  it('answers the documented event shape', async () => {
    const [e] = (await audit(`?action_id=${ids[3]}`)).body.events;
    expect(Object.keys(e).sort()).toEqual(['action_id', 'actor', 'agent_id', 'correlation_id', 'created_at', 'data', 'hash', 'id', 'policy_version', 'prev_hash', 'schema_version', 'seq', 'type', 'chain_lane'].sort());
    expect(e.schema_version).toBe('1');
    expect(e.data.params.password).toBe('[REDACTED]');
  });
});

describe('countersign audit export', () => {
  it('streams JSONL in chain order, in batches, with the same events the API returns', async () => {
    const chunks: string[] = [];
    const n = await exportEvents(h.db.db, h.db.sql, { since: new Date(0) }, 'jsonl', (c) => void chunks.push(c), { batchSize: 4 });
    const lines = chunks.join('').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(n);
    expect(chunks.length).toBe(Math.ceil(n / 4)); // one write per cursor batch: memory bounded by the batch
    const api = (await audit('?limit=500')).body.events;
    expect(lines).toEqual(api);
  });

  it('pages without postgres.js (embedded) and gives the same stream', async () => {
    const a: string[] = [];
    const b: string[] = [];
    await exportEvents(h.db.db, h.db.sql, { since: new Date(0) }, 'jsonl', (c) => void a.push(c));
    await exportEvents(h.db.db, null, { since: new Date(0) }, 'jsonl', (c) => void b.push(c), { batchSize: 5 });
    expect(b.join('')).toBe(a.join(''));
  });

  it('writes CSV with a header, quoting commas, quotes and newlines, and defusing formulas', async () => {
    await appendEvents(h.db.db, [{ type: 'note', actor: '=HYPERLINK("x")', data: {} }]);
    const dir = mkdtempSync(join(tmpdir(), 'cs-export-'));
    const file = join(dir, 'out.csv');
    const io = captureIo();
    expect(await runAuditCommand(['export', '--since', '1h', '--format', 'csv', '--out', file], io)).toBe(0);
    const text = readFileSync(file, 'utf8');
    const [header, ...rows] = text.trim().split('\n');
    expect(header).toBe('seq,id,created_at,type,action_id,correlation_id,agent_id,actor,policy_version,schema_version,data,prev_hash,hash,chain_lane');
    expect(text).toContain('\\""quoted\\""'); // JSON-escaped inside data, then CSV-doubled
    expect(text).toContain(`"'=HYPERLINK(""x"")"`);
    expect(rows.length).toBeGreaterThan(8);
    expect(io.err.join('')).toMatch(/exported \d+ events/);
  });

  it('csvField quotes what needs quoting', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('+1')).toBe("'+1");
    expect(csvField(null)).toBe('');
    expect(csvField({ a: 1 })).toBe('"{""a"":1}"');
  });

  it('filters by agent name and time, and refuses bad arguments', async () => {
    const io = captureIo();
    expect(await runAuditCommand(['export', '--since', '1h', '--agent', 'deploy-bot', '--format', 'jsonl'], io)).toBe(0);
    const lines = io.out.join('').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((e) => e.agent_id === h.agentId)).toBe(true);
    const future = captureIo();
    expect(await runAuditCommand(['export', '--since', new Date(Date.now() + 60_000).toISOString()], future)).toBe(0);
    expect(future.out.join('')).toBe('');
    expect(await runAuditCommand(['export'], captureIo())).toBe(2);
    expect(await runAuditCommand(['export', '--since', 'yesterday'], captureIo())).toBe(2);
    expect(await runAuditCommand(['export', '--since', '1h', '--format', 'xml'], captureIo())).toBe(2);
    expect(await runAuditCommand(['export', '--since', '1h', '--agent', 'nobody'], captureIo())).toBe(1);
  });

  it('queryEvents caps a page', async () => {
    const page = await queryEvents(h.db.db, {}, { limit: 10_000 });
    expect(page.events.length).toBeLessThanOrEqual(500);
  });
});
