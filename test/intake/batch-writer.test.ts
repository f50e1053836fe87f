// The allow path's writer against PostgreSQL: intake_commit (drizzle/0008) links evidence exactly as
// src/audit/append.ts does, batches concurrent writes, and isolates a bad item.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inArray, sql } from 'drizzle-orm';
import { createTestDb, ensureTemplate, type TestDb } from '../support/db';
import { createAgent, authenticateAgent, type Principal } from '../../src/auth/agents';
import { actions, auditEvents } from '../../src/db/schema';
import { verifyChain } from '../../src/audit/verify';
import { appendEvents } from '../../src/audit/append';
import { eventTemplate } from '../../src/audit/chain-template';
import { createIntakeWriter } from '../../src/intake/batch-writer';
import { newId } from '../../src/lib/ids';
import { queuedWrite } from '../support/queued-write';

let db: TestDb;
let principal: Principal;
beforeAll(async () => {
  await ensureTemplate();
  db = await createTestDb();
  const { token } = await createAgent(db.db, { name: 'writer-test', scopes: ['external_automation.*'] }, 'admin:test');
  principal = (await authenticateAgent(db.db, token))!;
});
afterAll(async () => {
  await db?.drop();
});

const item = (data: Record<string, unknown> = {}, override: Record<string, unknown> = {}) => queuedWrite(principal, data, override);

describe('intake writer (intake_commit)', () => {
  it('links evidence the way `audit verify` checks it, whatever the agent put in it', async () => {
    const writer = createIntakeWriter(db.db, { batch: { maxBatch: 16, maxInFlight: 1 } });
    const nasty = [
      { seq: 0, created_at: '1970-01-01T00:00:00.000Z', type: 'forged', chain_lane: 9 },
      { note: 'quote " backslash \\ "created_at":"1970-01-01T00:00:00.000Z" ,"seq":0,"type":' },
      { unicode: 'zß水🎉\u2028\u00e9', nested: { a: [1, 2.5, -0, 1e21, { seq: 0 }], empty: {} } },
      { 'key with "quotes"': true, '': null },
    ];
    const outcomes = await Promise.all(nasty.map((d) => writer.write(item(d))));
    expect(outcomes).toEqual(['inserted', 'inserted', 'inserted', 'inserted']);
    // Evidence appended the ordinary way afterwards links onto the same lanes.
    await appendEvents(db.db, [{ type: 'test.after', actor: 'system', actionId: newId('action'), data: { ok: true } }]);
    const chain = await verifyChain(db.db);
    expect(chain.break).toBeNull();
    expect(chain.checked).toBeGreaterThanOrEqual(17);
  });

  it('stores each event from the text its hash covers (drizzle/0017), and an event that carries its fields (the version before) from them', async () => {
    const input = (data: Record<string, unknown>) => ({ type: 'test.linked', actor: 'agent:agt_x', actionId: newId('action'), correlationId: 'corr-linked', agentId: 'agt_x', policyVersion: 'v1', data });
    const lane = 3;
    const sentOnce = eventTemplate(input({ note: 'only the text travels', n: [1, 2.5, 1e21], s: 'é "q" \\' }), lane);
    // What the previous version sent for every event: the stored fields beside the text.
    const old = input({ note: 'fields beside the text' });
    const template = eventTemplate(old, lane);
    const fields = JSON.parse(`${template.head}1970-01-01T00:00:00.000Z${template.mid}0${template.tail}`);
    const { seq: _seq, chain_lane: _lane, created_at: _at, ...withoutHoles } = fields;
    const withFields = { ...template, ...withoutHoles };
    expect(Object.keys(sentOnce).sort()).toEqual(['action_id', 'head', 'mid', 'tail']);
    await db.sql`select audit_link_events(${lane}, ${JSON.stringify([sentOnce, withFields])}::jsonb)`;
    const stored = (await db.sql`
      select id, type, action_id, correlation_id, agent_id, actor, policy_version, data, chain_lane
      from audit_events where action_id in (${sentOnce.action_id}, ${old.actionId}) order by seq`) as unknown as Array<Record<string, unknown>>;
    expect(stored).toEqual([
      { id: expect.stringMatching(/^evt_/), type: 'test.linked', action_id: sentOnce.action_id, correlation_id: 'corr-linked', agent_id: 'agt_x', actor: 'agent:agt_x', policy_version: 'v1', data: { note: 'only the text travels', n: [1, 2.5, 1e21], s: 'é "q" \\' }, chain_lane: lane },
      { id: withFields.id, type: 'test.linked', action_id: old.actionId, correlation_id: 'corr-linked', agent_id: 'agt_x', actor: 'agent:agt_x', policy_version: 'v1', data: { note: 'fields beside the text' }, chain_lane: lane },
    ]);
    expect((await verifyChain(db.db)).break).toBeNull();
  });

  it('writes concurrent requests together: fewer statements than requests, every one recorded', async () => {
    const writer = createIntakeWriter(db.db, { batch: { maxBatch: 64, maxInFlight: 1 } });
    const items = Array.from({ length: 30 }, (_, i) => item({ i }));
    expect(await Promise.all(items.map((it) => writer.write(it)))).toEqual(Array(30).fill('inserted'));
    const ids = items.map((it) => it.row.id);
    // One call links its whole batch in one lane at one instant: count the distinct (lane, instant) pairs.
    const [groups] = (await db.sql`
      select count(distinct (chain_lane, created_at))::int as n from audit_events where action_id = any(${ids})`) as unknown as Array<{ n: number }>;
    expect(groups!.n).toBeGreaterThan(1);
    expect(groups!.n).toBeLessThan(30);
    expect(await db.db.select().from(actions).where(inArray(actions.id, ids))).toHaveLength(30);
    expect(await db.db.select().from(auditEvents).where(inArray(auditEvents.actionId, ids))).toHaveLength(120);
  });

  it('a bad item fails alone: its batch neighbours are written, it writes nothing', async () => {
    const writer = createIntakeWriter(db.db, { batch: { maxBatch: 64, maxInFlight: 1 } });
    const good = Array.from({ length: 4 }, (_, i) => item({ i }));
    const bad = item({ bad: true }, { reasoning: null }); // NOT NULL column
    const results = await Promise.allSettled([good[0]!, bad, ...good.slice(1)].map((it) => writer.write(it)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toMatch(/reasoning/);
    expect(await db.db.select().from(actions).where(inArray(actions.id, good.map((g) => g.row.id)))).toHaveLength(4);
    expect(await db.db.select().from(auditEvents).where(sql`${auditEvents.actionId} = ${bad.row.id}`)).toHaveLength(0);
    expect((await verifyChain(db.db)).break).toBeNull();
  });

  it('a taken idempotency key inserts nothing and says duplicate; stale credentials write nothing', async () => {
    const writer = createIntakeWriter(db.db);
    const first = item();
    expect(await writer.write(first)).toBe('inserted');
    const again = item({}, { idempotencyKey: first.row.idempotencyKey });
    expect(await writer.write(again)).toBe('duplicate');
    const stale = item();
    stale.credentials = { ...stale.credentials, scopes: ['something.else.*'] };
    expect(await writer.write(stale)).toBe('stale-credentials');
    const revokedToken = item();
    revokedToken.credentials = { ...revokedToken.credentials, tokenId: 'tok_gone' };
    expect(await writer.write(revokedToken)).toBe('stale-credentials');
    const written = await db.db.select().from(actions).where(inArray(actions.id, [again.row.id, stale.row.id, revokedToken.row.id]));
    expect(written).toHaveLength(0);
    expect(await db.db.select().from(auditEvents).where(inArray(auditEvents.actionId, [again.row.id, stale.row.id]))).toHaveLength(0);
  });

  it('calls afterCommit with the ids each batch created, once committed', async () => {
    const seen: string[][] = [];
    const writer = createIntakeWriter(db.db, {
      afterCommit: (ids) => {
        seen.push(ids);
      },
    });
    const a = item();
    const dup = item({}, { idempotencyKey: a.row.idempotencyKey });
    await writer.write(a);
    await writer.write(dup);
    expect(seen).toEqual([[a.row.id]]);
    const [row] = (await db.sql`select status from actions where id = ${a.row.id}`) as unknown as Array<{ status: string }>;
    expect(row!.status).toBe('queued');
  });
});
