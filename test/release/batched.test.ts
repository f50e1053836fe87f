import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { createAgent } from '../../src/auth/agents';
import { actions, agents } from '../../src/db/schema';
import { releaseCommit, type ReleaseDeps } from '../../src/release';
import { planClaims } from '../../src/release/claim-read';
import { writeRelease } from '../../src/release/writer';
import { insertApproved, startReleaseFixture, type ReleaseFixture } from './support';

// Releases started together share the release writer's transactions (src/release/writer.ts): the
// first goes at once, those that arrive while it is in flight go together in the next one.

let f: ReleaseFixture;

beforeAll(async () => {
  f = await startReleaseFixture();
});
afterAll(async () => {
  await f.close();
});

const callsFor = (id: string) => f.executor.calls.filter((c) => c.body.action_id === id);

describe('release: group commits', () => {
  it('releases many actions at once in shared transactions, each exactly once with its own evidence', async () => {
    const ids = await Promise.all(Array.from({ length: 12 }, () => f.insertApproved()));
    const outs = await Promise.all(ids.map((id) => releaseCommit(f.deps, id)));
    expect(outs).toEqual(ids.map(() => ({ kind: 'committed' })));
    for (const id of ids) {
      expect(await f.row(id)).toMatchObject({ status: 'committed', attempts: 1, leaseExpiresAt: null });
      expect((await f.events(id)).map((e) => e.type)).toEqual(['commit.started', 'commit.succeeded']);
      expect(callsFor(id)).toHaveLength(1);
    }
    // Evidence appended by one transaction shares its timestamp: fewer timestamps than claims means shared transactions.
    const started = await f.db.sql`select distinct created_at from audit_events where type = 'commit.started' and action_id = any(${ids})`;
    expect(started.length).toBeLessThan(ids.length);
  });

  it('a batch that fails is redone one action per transaction: only the bad one fails, and it wrote nothing', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, () => f.insertApproved()));
    const bad = ids[3]!;
    const deps: ReleaseDeps = {
      ...f.deps,
      controls: {
        async check(_tx, row) {
          if (row.id === bad) throw new Error('controls hook broke');
          return null;
        },
      },
    };
    const outs = await Promise.allSettled(ids.map((id) => releaseCommit(deps, id)));
    outs.forEach((o, i) => {
      if (ids[i] === bad) expect(o).toMatchObject({ status: 'rejected', reason: { message: 'controls hook broke' } });
      else expect(o).toEqual({ status: 'fulfilled', value: { kind: 'committed' } });
    });
    expect(await f.row(bad)).toMatchObject({ status: 'approved', attempts: 0, leaseExpiresAt: null });
    expect(await f.events(bad)).toEqual([]);
    expect(callsFor(bad)).toHaveLength(0);
    for (const id of ids.filter((i) => i !== bad)) expect((await f.events(id)).map((e) => e.type)).toEqual(['commit.started', 'commit.succeeded']);
  });

  it('a controls refusal in a batch gets the answer it would get alone', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, () => f.insertApproved()));
    const refused = ids[2]!;
    const deps: ReleaseDeps = {
      ...f.deps,
      controls: { check: async (_tx, row) => (row.id === refused ? { kind: 'refuse', code: 'budget-exhausted', reason: 'spent' } : null) },
    };
    const outs = await Promise.all(ids.map((id) => releaseCommit(deps, id)));
    outs.forEach((o, i) => expect(o).toEqual({ kind: ids[i] === refused ? 'refused' : 'committed' }));
    expect(await f.row(refused)).toMatchObject({ status: 'refused', failure: { code: 'budget-exhausted' } });
    expect((await f.events(refused)).map((e) => e.type)).toEqual(['commit.refused']);
    expect(callsFor(refused)).toHaveLength(0);
  });

  it('the same action asked for several times at once is claimed once; the other asks are told it is taken or leased', async () => {
    const id = await f.insertApproved();
    const other = await f.insertApproved();
    const outs = await Promise.all([releaseCommit(f.deps, other), releaseCommit(f.deps, id), releaseCommit(f.deps, id), releaseCommit(f.deps, id)]);
    expect(outs[0]).toEqual({ kind: 'committed' });
    expect(outs.slice(1).filter((o) => o.kind === 'committed')).toHaveLength(1);
    // Asked in the same batch as the claim: skipped; read in another batch, then found under the claim's live lease: leased.
    expect(outs.slice(1).filter((o) => o.kind === 'skipped' || o.kind === 'leased')).toHaveLength(2);
    expect(callsFor(id)).toHaveLength(1);
    expect((await f.events(id)).map((e) => e.type)).toEqual(['commit.started', 'commit.succeeded']);
  });

  it('asked twice in one write batch, the second ask gets the first one\'s claim as taken (skipped)', async () => {
    const id = await f.insertApproved();
    const [first, second] = await planClaims(f.db.db, [{ deps: f.deps, actionId: id }, { deps: f.deps, actionId: id }]);
    expect(first!.kind).toBe('optimistic');
    const out = await writeRelease(f.db.db, [
      { kind: 'claim', plan: first as Extract<typeof first, { kind: 'optimistic' }> },
      { kind: 'claim', plan: second as Extract<typeof second, { kind: 'optimistic' }> },
    ]);
    expect(out[0]).toMatchObject({ kind: 'claimed', row: { id, status: 'executing', attempts: 1 } });
    expect(out[1]).toEqual({ kind: 'not-claimed', outcome: { kind: 'skipped', reason: 'claimed by another worker or already finished' } });
    expect((await f.events(id)).map((e) => e.type)).toEqual(['commit.started']);
  });

  it('takes over an expired lease of a suspended agent (its status read again after the claim): cancelled, not released', async () => {
    const { agent } = await createAgent(f.db.db, { name: 'killed-later', owner: 'platform', scopes: ['external_automation.*'] }, 'admin:test');
    const id = await insertApproved(f.db, agent.id);
    await f.db.db.update(actions).set({ status: 'executing', attempts: 1, leaseExpiresAt: sql`now() - interval '1 second'` }).where(eq(actions.id, id));
    await f.db.db.update(agents).set({ status: 'suspended' }).where(eq(agents.id, agent.id));
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'cancelled' });
    expect(await f.row(id)).toMatchObject({ status: 'cancelled', attempts: 2, failure: { code: 'agent-killed' } });
    expect(callsFor(id)).toHaveLength(0);
  });
});
