import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { createTestDb, type TestDb } from '../support/db';
import { formatAnchor, parseAnchor, verifyChain } from '../../src/audit/verify';
import { appendEvents } from '../../src/audit/append';
import { runAuditCommand } from '../../src/cli/audit';
import { appendSample, captureIo, tamper } from './support';

let dbs: TestDb[] = [];
async function freshDb(events = 20): Promise<TestDb> {
  const db = await createTestDb({ max: 4 });
  dbs.push(db);
  await appendSample(db.db, events);
  return db;
}
afterEach(async () => {
  for (const d of dbs) await d.drop();
  dbs = [];
});

async function swap(db: TestDb, a: number, b: number): Promise<void> {
  await tamper(db.db, async (d) => {
    await d.execute(sql`update audit_events set seq = -1 where seq = ${a}`);
    await d.execute(sql`update audit_events set seq = ${a} where seq = ${b}`);
    await d.execute(sql`update audit_events set seq = ${b} where seq = -1`);
  });
}

async function seqs(db: TestDb): Promise<number[]> {
  const rows = await db.sql<{ seq: string }[]>`select seq from audit_events order by seq`;
  return rows.map((r) => Number(r.seq));
}

describe('append-only in the database', () => {
  it('refuses UPDATE, DELETE and TRUNCATE of audit_events, even for the table owner', async () => {
    const db = await freshDb(3);
    await expect(db.sql`update audit_events set actor = 'admin:evil'`).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(db.sql`delete from audit_events`).rejects.toThrow(/append-only: DELETE refused/);
    await expect(db.sql`truncate audit_events`).rejects.toThrow(/append-only: TRUNCATE refused/);
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from audit_events`;
    expect(row!.n).toBe(3);
  });

  it('still takes inserts', async () => {
    const db = await freshDb(0);
    await appendEvents(db.db, [{ type: 't', actor: 'system', data: {} }]);
    expect(await seqs(db)).toHaveLength(1);
  });
});

describe('verifyChain', () => {
  it('accepts an intact chain, reading it in batches, and reports its head', async () => {
    const db = await freshDb(25);
    const batches: number[] = [];
    const r = await verifyChain(db.db, { batchSize: 7, onBatch: (n) => batches.push(n) });
    expect(r.ok).toBe(true);
    expect(r.checked).toBe(25);
    expect(batches).toEqual([7, 14, 21, 25]);
    const last = (await seqs(db)).at(-1)!;
    expect(Math.max(...r.heads.map((h) => h.seq))).toBe(last);
  });

  it('accepts gaps in seq left by rolled-back transactions', async () => {
    const db = await freshDb(3);
    await db.db
      .transaction(async (tx) => {
        await appendEvents(tx, [{ type: 'doomed', actor: 'system', data: {} }]);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await appendSample(db.db, 2);
    const s = await seqs(db);
    expect(s[3]! - s[2]!).toBe(2); // the gap
    expect((await verifyChain(db.db)).ok).toBe(true);
  });

  it('names an edited record (contents changed, hash left alone)', async () => {
    const db = await freshDb(20);
    const target = (await seqs(db))[11]!;
    await tamper(db.db, (d) => d.execute(sql`update audit_events set data = jsonb_set(data, '{i}', '999') where seq = ${target}`));
    const r = await verifyChain(db.db, { batchSize: 5 });
    expect(r.ok).toBe(false);
    expect(r.break).toMatchObject({ kind: 'edited', seq: target });
    expect(r.checked).toBe(11);
  });

  it('names an edited actor or timestamp too (every envelope field is hashed)', async () => {
    for (const change of [sql`actor = 'slack:UEVIL'`, sql`created_at = created_at - interval '1 day'`, sql`type = 'other'`]) {
      const db = await freshDb(5);
      const target = (await seqs(db))[2]!;
      await tamper(db.db, (d) => d.execute(sql`update audit_events set ${change} where seq = ${target}`));
      expect((await verifyChain(db.db)).break).toMatchObject({ kind: 'edited', seq: target });
    }
  });

  it('names the record after a deleted one', async () => {
    const db = await freshDb(20);
    const s = await seqs(db);
    await tamper(db.db, (d) => d.execute(sql`delete from audit_events where seq = ${s[7]!}`));
    const r = await verifyChain(db.db, { batchSize: 4 });
    expect(r.break).toMatchObject({ kind: 'deleted', seq: s[8] });
    expect(r.break!.detail).toMatch(/missing after record/);
  });

  it('catches deletion of the first records', async () => {
    const db = await freshDb(6);
    const s = await seqs(db);
    await tamper(db.db, (d) => d.execute(sql`delete from audit_events where seq <= ${s[1]!}`));
    expect((await verifyChain(db.db)).break).toMatchObject({ kind: 'deleted', seq: s[2] });
  });

  it('catches an edit that recomputed the record hash (its successor no longer links)', async () => {
    const db = await freshDb(10);
    const s = await seqs(db);
    const [row] = await db.db.execute(sql`select * from audit_events where seq = ${s[4]!}`).then((r) => [...(r as unknown as Record<string, unknown>[])]);
    const { eventHash } = await import('../../src/audit/append');
    const data = { ...(row!.data as object), i: 12345 };
    const newHash = eventHash(row!.prev_hash as string, {
      seq: Number(row!.seq),
      chainLane: Number(row!.chain_lane),
      id: row!.id as string,
      schemaVersion: row!.schema_version as string,
      type: row!.type as string,
      actionId: row!.action_id as string,
      correlationId: row!.correlation_id as string,
      agentId: row!.agent_id as string,
      actor: row!.actor as string,
      policyVersion: row!.policy_version as string,
      data,
      createdAt: new Date(String(row!.created_at).replace(' ', 'T').replace(/\+00$/, 'Z')),
    });
    await tamper(db.db, (d) => d.execute(sql`update audit_events set data = ${JSON.stringify(data)}::jsonb, hash = ${newHash} where seq = ${s[4]!}`));
    const r = await verifyChain(db.db);
    expect(r.break).toMatchObject({ kind: 'deleted', seq: s[5] });
    expect(r.break!.detail).toMatch(/replaced \(edited and re-hashed\)/);
  });

  it('names reordered records (two records of one chain lane swapped)', async () => {
    const db = await freshDb(12);
    const s = await seqs(db);
    // appendSample writes three events per transaction: one lane; swap the 2nd and 3rd of a transaction.
    const [a, b] = [s[4]!, s[5]!];
    await swap(db, a, b);
    const r = await verifyChain(db.db);
    expect(r.break).toMatchObject({ kind: 'reordered', seq: a });
  });

  it('catches records moved across lanes (seq is part of every hash)', async () => {
    const db = await freshDb(12);
    const s = await seqs(db);
    const lanes = await db.sql<{ seq: string; chain_lane: number }[]>`select seq, chain_lane from audit_events order by seq`;
    const other = lanes.find((l) => l.chain_lane !== lanes[0]!.chain_lane);
    expect(other, 'sample events span two lanes').toBeDefined();
    await swap(db, s[0]!, Number(other!.seq));
    const r = await verifyChain(db.db);
    expect(r.ok).toBe(false);
    expect(r.break!.seq).toBe(s[0]);
    expect(['edited', 'reordered']).toContain(r.break!.kind);
  });

  it('keeps every lane intact under concurrent writers', async () => {
    const db = await freshDb(0);
    await Promise.all(
      Array.from({ length: 12 }, (_, w) =>
        (async () => {
          for (let i = 0; i < 10; i++) {
            await appendEvents(db.db, [
              { type: 'action.requested', actor: 'system', actionId: `act_w${w}_${i}`, data: { w, i } },
              { type: 'policy.decided', actor: 'system', actionId: `act_w${w}_${i}`, data: { w, i } },
            ]);
          }
        })(),
      ),
    );
    const r = await verifyChain(db.db, { batchSize: 50 });
    expect(r).toMatchObject({ ok: true, checked: 240 });
    expect(r.heads.length).toBeGreaterThan(1);
    // One action's events share one lane, so their order is covered by the links.
    const spread = await db.sql<{ n: number }[]>`select count(distinct chain_lane)::int as n from audit_events group by action_id having count(distinct chain_lane) > 1`;
    expect(spread).toHaveLength(0);
  });

  it('catches truncation of the tail against an anchor kept from an earlier run', async () => {
    const db = await freshDb(10);
    const before = await verifyChain(db.db);
    const anchors = parseAnchor(formatAnchor(before.heads))!;
    expect(anchors).toEqual(before.heads);
    expect((await verifyChain(db.db, { anchors })).ok).toBe(true);
    const last = Math.max(...anchors.map((a) => a.seq));
    // The tail alone: nothing after it links to it, so only an anchor can tell.
    await tamper(db.db, (d) => d.execute(sql`delete from audit_events where seq = ${last}`));
    expect((await verifyChain(db.db)).ok).toBe(true);
    const r = await verifyChain(db.db, { anchors });
    expect(r.ok).toBe(false);
    expect(r.break).toMatchObject({ kind: 'deleted', seq: last });
  });
});

describe('countersign audit verify', () => {
  let db: TestDb;
  const saved = process.env.DATABASE_URL;
  beforeAll(async () => {
    db = await createTestDb({ max: 2 });
    await appendSample(db.db, 9);
    process.env.DATABASE_URL = db.url;
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
    await db.drop();
  });

  it('exits 0 on an intact chain and prints the head to anchor', async () => {
    const io = captureIo();
    expect(await runAuditCommand(['verify'], io)).toBe(0);
    expect(io.text()).toMatch(/chain intact: 9 events verified/);
    expect(io.text()).toMatch(/anchor: \d+:\d+:[0-9a-f]{64}/);
  });

  it('exits 1 and names the first bad record after tampering', async () => {
    const [row] = await db.sql<{ seq: string; id: string }[]>`select seq, id from audit_events order by seq offset 3 limit 1`;
    await tamper(db.db, (d) => d.execute(sql`update audit_events set actor = 'admin:someone-else' where seq = ${Number(row!.seq)}`));
    const io = captureIo();
    expect(await runAuditCommand(['verify'], io)).toBe(1);
    expect(io.text()).toContain(`edited at seq ${row!.seq} (${row!.id})`);
    const json = captureIo();
    expect(await runAuditCommand(['verify', '--json'], json)).toBe(1);
    expect(JSON.parse(json.out[0]!)).toMatchObject({ ok: false, checked: 3, break: { kind: 'edited', id: row!.id } });
  });
});
