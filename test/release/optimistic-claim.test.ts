import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { createAgent } from '../../src/auth/agents';
import { actions, agents } from '../../src/db/schema';
import { releaseCommit, type ReleaseDeps } from '../../src/release';
import { verifyChain } from '../../src/audit/verify';
import { CLAIM } from '../../src/release/claim';
import { insertApproved, startReleaseFixture, type ReleaseFixture } from './support';

// The optimistic claim (src/release/claim-read.ts, release_write in drizzle/0016): the row is read and
// re-checked without a lock, then claimed only if it is still the version that was read. These tests change
// the row in the window between the read and the claim, by holding it locked in another transaction that
// commits while release_write waits for it.

let f: ReleaseFixture;

beforeAll(async () => {
  f = await startReleaseFixture();
});
afterAll(async () => {
  await f.close();
});

const callsFor = (id: string) => f.executor.calls.filter((c) => c.body.action_id === id);

/**
 * Runs `change` in a transaction that holds the action's row lock until the release is waiting for it, then
 * commits: the release read the row before the change and tries to claim it after.
 */
async function changeWhileClaiming(id: string, change: (sql: typeof f.db.sql) => Promise<unknown>, deps: ReleaseDeps = f.deps) {
  let commit!: () => void;
  const held = new Promise<void>((r) => (commit = r));
  let locked!: () => void;
  const lockTaken = new Promise<void>((r) => (locked = r));
  const tx = f.db.sql.begin(async (sql) => {
    await sql`select 1 from actions where id = ${id} for update`;
    locked();
    await held;
    await change(sql as unknown as typeof f.db.sql);
  });
  await lockTaken;
  const release = releaseCommit(deps, id);
  // The claim is waiting for the row lock once some other backend waits on a lock.
  for (let i = 0; i < 500; i++) {
    const [w] = await f.db.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
    if (w!.n > 0) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  commit();
  await tx;
  return release;
}

describe('release: the optimistic claim', () => {
  it('releases an unchanged action in one batch write, with its evidence chained', async () => {
    const id = await f.insertApproved();
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'committed' });
    expect(await f.row(id)).toMatchObject({ status: 'committed', attempts: 1, leaseExpiresAt: null });
    const events = await f.events(id);
    expect(events.map((e) => e.type)).toEqual(['commit.started', 'commit.succeeded']);
    expect(events[0]!.data).toMatchObject({ attempt: 1, lease_taken_over: false, executor: 'automation' });
    expect((await verifyChain(f.db.db)).ok).toBe(true);
  });

  it('params changed between read and claim: not released (the careful claim re-checks the new row and refuses it)', async () => {
    const id = await f.insertApproved();
    const out = await changeWhileClaiming(id, (sql) => sql`update actions set params = '{"job":"something else"}' where id = ${id}`);
    expect(out).toEqual({ kind: 'refused' });
    expect(await f.row(id)).toMatchObject({ status: 'refused', failure: { code: 'payload-changed' } });
    expect((await f.events(id)).map((e) => e.type)).toEqual(['commit.refused']);
    expect(callsFor(id)).toHaveLength(0);
  });

  it('a kill switch that commits between read and claim wins: nothing is released', async () => {
    const { agent } = await createAgent(f.db.db, { name: 'killed-mid-claim', owner: 'platform', scopes: ['external_automation.*'] }, 'admin:test');
    const id = await insertApproved(f.db, agent.id);
    const out = await changeWhileClaiming(id, async (sql) => {
      await sql`update agents set status = 'suspended' where id = ${agent.id}`;
      await sql`update actions set status = 'cancelled' where id = ${id}`;
    });
    expect(out).toEqual({ kind: 'skipped', reason: 'action is cancelled' });
    expect(callsFor(id)).toHaveLength(0);
    expect(await f.events(id)).toEqual([]);
  });

  it('an agent suspended before the claim (its action left as it was) is cancelled by the careful claim, not released', async () => {
    const { agent } = await createAgent(f.db.db, { name: 'suspended-before-claim', owner: 'platform', scopes: ['external_automation.*'] }, 'admin:test');
    const id = await insertApproved(f.db, agent.id);
    await f.db.db.update(agents).set({ status: 'suspended' }).where(eq(agents.id, agent.id));
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'cancelled' });
    expect(await f.row(id)).toMatchObject({ status: 'cancelled', failure: { code: 'agent-killed' } });
    expect((await f.events(id)).map((e) => e.type)).toEqual(['commit.cancelled']);
    expect(callsFor(id)).toHaveLength(0);
  });

  it('a controls hook that applies takes the careful claim (its check runs in the claim transaction)', async () => {
    const id = await f.insertApproved();
    const checked: string[] = [];
    const deps: ReleaseDeps = {
      ...f.deps,
      controls: {
        applies: (row) => row.id === id,
        check: async (_tx, row) => {
          checked.push(row.id);
          return { kind: 'refuse', code: 'budget-exhausted', reason: 'spent' };
        },
      },
    };
    const other = await f.insertApproved();
    expect(await releaseCommit(deps, other)).toEqual({ kind: 'committed' });
    expect(await releaseCommit(deps, id)).toEqual({ kind: 'refused' });
    expect(checked).toEqual([id]);
    expect(await f.row(id)).toMatchObject({ status: 'refused', failure: { code: 'budget-exhausted' } });
  });

  it('a controls hook without `applies` is always asked', async () => {
    const id = await f.insertApproved();
    const deps: ReleaseDeps = { ...f.deps, controls: { check: async () => ({ kind: 'cancel', code: 'stopped', reason: 'stopped by a control' }) } };
    expect(await releaseCommit(deps, id)).toEqual({ kind: 'cancelled' });
    expect(callsFor(id)).toHaveLength(0);
  });
});

/** 3,000 open (approved or queued) actions beside the ones a test claims, and fresh statistics. */
async function openBacklog(tag: string): Promise<void> {
  const template = await f.insertApproved();
  await f.db.sql`
    insert into actions (id, agent_id, action_class, params, context, executor, idempotency_key, request_hash, correlation_id,
                         justification, payload_hash, status, decision, rule_id, reasoning, policy_version, approved_at,
                         approved_payload_hash, created_at, updated_at)
    select 'act_backlog_' || ${tag} || g, agent_id, action_class, params, context, executor, 'backlog-' || ${tag} || g, request_hash,
           correlation_id, justification, payload_hash, case when g % 2 = 0 then 'queued' else 'approved' end, decision, rule_id,
           reasoning, policy_version, approved_at, approved_payload_hash, now(), now()
    from actions, generate_series(1, 3000) g where id = ${template}`;
  await f.db.sql`analyze actions`;
}

/** How many open-status index entries, table scans and primary-key lookups of actions `run` made, on its own connection. */
async function indexUse(run: (sql: typeof f.db.sql) => Promise<unknown>) {
  return f.db.sql.begin(async (sql) => {
    // The backend's own counters, read before and after in one transaction (they are flushed only between transactions).
    const read = async () =>
      (
        await sql`select pg_stat_get_xact_tuples_returned('actions_open_status_idx'::regclass)::int as open_entries,
                         pg_stat_get_xact_numscans('actions'::regclass)::int as seq_scans,
                         pg_stat_get_xact_numscans('actions_pkey'::regclass)::int as key_scans`
      )[0] as { open_entries: number; seq_scans: number; key_scans: number };
    const before = await read();
    await run(sql as unknown as typeof f.db.sql);
    const after = await read();
    return { openStatusEntriesRead: after.open_entries - before.open_entries, seqScans: after.seq_scans - before.seq_scans, keyLookups: after.key_scans - before.key_scans };
  });
}

describe('release_write (drizzle/0016)', () => {
  const write = async (payload: unknown) =>
    (await f.db.sql`select kind, id, attempts from release_write(${JSON.stringify(payload)}::jsonb)`) as unknown as Array<{ kind: string; id: string; attempts: number }>;
  const versionOf = async (id: string) => String((await f.db.sql`select xmin::text as v from actions where id = ${id}`)[0]!.v);

  it('claims only the row version it was given, and writes no evidence for what it did not claim', async () => {
    const id = await f.insertApproved();
    const stale = await versionOf(id);
    await f.db.sql`update actions set justification = 'changed' where id = ${id}`;
    const event = { gate: `claim:${id}`, id: 'evt_x', schema_version: '1', type: 'commit.started', action_id: id, correlation_id: null, agent_id: null, actor: 'system', policy_version: null, data: {}, head: '{', mid: '', tail: '}' };
    expect(await write({ lane: 0, records: [], claims: [{ id, row_version: stale, lease_ms: 1000 }], events: [event] })).toEqual([]);
    expect(await f.row(id)).toMatchObject({ status: 'approved', attempts: 0 });
    expect(await f.events(id)).toEqual([]);
    expect(await write({ lane: 0, records: [], claims: [{ id, row_version: await versionOf(id), lease_ms: 1000 }], events: [] })).toEqual([{ kind: 'claimed', id, attempts: 1 }]);
    expect(await f.row(id)).toMatchObject({ status: 'executing', attempts: 1 });
  });

  it('does not claim for a suspended agent', async () => {
    const { agent } = await createAgent(f.db.db, { name: 'suspended-before-write', owner: 'platform', scopes: ['external_automation.*'] }, 'admin:test');
    const id = await insertApproved(f.db, agent.id);
    const version = await versionOf(id);
    await f.db.db.update(agents).set({ status: 'suspended' }).where(eq(agents.id, agent.id));
    expect(await write({ lane: 0, records: [], claims: [{ id, row_version: version, lease_ms: 1000 }], events: [] })).toEqual([]);
    expect(await f.row(id)).toMatchObject({ status: 'approved', attempts: 0 });
  });

  it('records only under the claim’s attempt', async () => {
    const id = await f.insertApproved();
    await f.db.db.update(actions).set({ status: 'executing', attempts: 2 }).where(eq(actions.id, id));
    const rec = (attempts: number) => ({ id, attempts, status: 'committed', result: { ok: true }, failure: null, finished_at: null, settle: 'spent' });
    expect(await write({ lane: 0, records: [rec(1)], claims: [], events: [] })).toEqual([]);
    expect(await f.row(id)).toMatchObject({ status: 'executing' });
    expect(await write({ lane: 0, records: [rec(2)], claims: [], events: [] })).toEqual([{ kind: 'moved', id, attempts: 2 }]);
    expect(await f.row(id)).toMatchObject({ status: 'committed', result: { ok: true }, leaseExpiresAt: null });
  });

  it('finds its actions by primary key, whatever the backlog: no open-status index entries read, no table scan, one key lookup each', async () => {
    // A backlog of open actions, then a batch that claims two and records one, on a connection that has
    // already run release_write (its plans are cached per connection, which is where the old form went wrong).
    await openBacklog('rw');
    const [a, b, c] = [await f.insertApproved(), await f.insertApproved(), await f.insertApproved()];
    await f.db.sql`update actions set status = 'executing', attempts = 1 where id = ${c}`;
    const version = async (id: string) => String((await f.db.sql`select xmin::text as v from actions where id = ${id}`)[0]!.v);
    const payload = JSON.stringify({
      lane: 0,
      records: [{ id: c, attempts: 1, status: 'committed', result: {}, failure: null, finished_at: null, settle: 'spent' }],
      claims: [
        { id: a, row_version: await version(a), lease_ms: 1000 },
        { id: b, row_version: await version(b), lease_ms: 1000 },
      ],
      events: [],
    });
    let rows: unknown[] = [];
    const counts = await indexUse(async (sql) => {
      for (let i = 0; i < 7; i++) await sql`select * from release_write('{"lane":0}'::jsonb)`; // past the custom plans
      rows = [...(await sql`select * from release_write(${payload}::jsonb)`)];
    });
    expect(rows).toHaveLength(3);
    expect(counts).toEqual({ openStatusEntriesRead: 0, seqScans: 0, keyLookups: 3 });
  });
});

describe('the careful claim (claim.ts)', () => {
  it('finds its actions by primary key too, also with a plan made when few actions were open', async () => {
    // A database of its own: statistics taken while almost nothing is open, the statement's generic plan cached
    // on the connection, then a backlog of 3,000 open actions (statistics not updated), then the claim.
    const g = await startReleaseFixture();
    try {
      const ids = [await g.insertApproved(), await g.insertApproved()];
      const template = ids[0]!;
      const params = JSON.stringify(ids.map((id) => ({ id, leases: { automation: 5000 }, default_lease_ms: 5000 })));
      const copies = (status: string, n: number) => g.db.sql`
        insert into actions (id, agent_id, action_class, params, context, executor, idempotency_key, request_hash, correlation_id,
                             justification, payload_hash, status, decision, rule_id, reasoning, policy_version, approved_at,
                             approved_payload_hash, created_at, updated_at)
        select 'act_' || ${status} || '_' || g, agent_id, action_class, params, context, executor, ${status} || '-' || g, request_hash,
               correlation_id, justification, payload_hash, ${status}, decision, rule_id, reasoning, policy_version, approved_at,
               approved_payload_hash, now(), now()
        from actions, generate_series(1, ${n}::int) g where id = ${template}`;
      await copies('committed', 5000); // a table with a history, and almost nothing open
      const counts = await g.db.sql.begin(async (sql) => {
        await sql`analyze actions`;
        // The plan PostgreSQL may settle on after five executions of a prepared statement: the generic one.
        await sql`set local plan_cache_mode = force_generic_plan`;
        await sql.unsafe(CLAIM.text, ['[]'], { prepare: true });
        await copies('approved', 3000); // then a backlog the statistics have not seen
        const read = async () =>
          (
            await sql`select pg_stat_get_xact_tuples_returned('actions_open_status_idx'::regclass)::int as open_entries,
                             pg_stat_get_xact_numscans('actions'::regclass)::int as seq_scans`
          )[0] as { open_entries: number; seq_scans: number };
        const before = await read();
        const claimed = (await sql.unsafe(CLAIM.text, [params], { prepare: true })) as unknown as Array<{ claimed: boolean }>;
        expect(claimed.map((r) => r.claimed)).toEqual([true, true]);
        const after = await read();
        return { openStatusEntriesRead: after.open_entries - before.open_entries, seqScans: after.seq_scans - before.seq_scans };
      });
      expect(counts).toEqual({ openStatusEntriesRead: 0, seqScans: 0 });
    } finally {
      await g.close();
    }
  });
});
