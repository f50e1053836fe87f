import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import * as schema from '../../src/db/schema';
import { agents } from '../../src/db/schema';
import { createAgent } from '../../src/auth/agents';
import { releaseCommit, type ReleaseDeps } from '../../src/release';
import { readAhead } from '../../src/release/read-ahead';
import { readAheadFor } from '../../src/release/writer';
import { COMMIT_QUEUE, enqueueCommit, waitingCommitIds, type CommitJob } from '../../src/queue/commit-queue';
import type { Db } from '../../src/db/client';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../support/redis';
import { insertApproved, startReleaseFixture, type ReleaseFixture } from './support';

// The read-ahead (src/release/read-ahead.ts): the rows of the commits next in line are read in one statement
// before their jobs run, and a claim that finds its row read ahead goes straight to release_write. A row that
// changed since it was read ahead must never be released as it was read.

let f: ReleaseFixture;
/** The fixture's database through a client that counts the claims' own reads (CLAIM_READ, claim-read.ts). */
let counted: { db: Db; reads(): number; close(): Promise<void> };

beforeAll(async () => {
  f = await startReleaseFixture();
  let reads = 0;
  const sql = postgres(f.db.url, { max: 4, onnotice: () => {}, debug: (_conn, query) => void (/as row_version/.test(query) && reads++) });
  counted = { db: drizzle(sql, { schema }) as unknown as Db, reads: () => reads, close: () => sql.end({ timeout: 5 }) };
});
afterAll(async () => {
  await counted.close();
  await f.close();
});

const callsFor = (id: string) => f.executor.calls.filter((c) => c.body.action_id === id);

/**
 * Release deps whose `upcoming` answers `waiting` as the queue would (a job leaves it when a worker takes
 * it: `releaseNext` takes the first), with the rows of `waiting` read ahead.
 */
async function readAheadOf(waiting: string[]): Promise<ReleaseDeps & { releaseNext(): ReturnType<typeof releaseCommit>; claimReads: string[] }> {
  const upcoming = async () => [...waiting];
  const claimReads: string[] = [];
  const deps: ReleaseDeps = { ...f.deps, db: counted.db, upcoming, onClaimRead: (read) => claimReads.push(read) };
  // A claim (of an id nobody waits for) starts the read-ahead, as a worker's first job does.
  expect(await releaseCommit(deps, 'act_nobody_waits_for_this')).toEqual({ kind: 'skipped', reason: 'no such action' });
  await readAheadFor(upcoming, counted.db).settled();
  return { ...deps, claimReads, releaseNext: () => releaseCommit(deps, waiting.shift()!) };
}

describe('read-ahead: the claim of a row read ahead', () => {
  it('releases the action without a read of its own, with its evidence', async () => {
    const ids = [await f.insertApproved(), await f.insertApproved()];
    const readsBefore = counted.reads();
    const deps = await readAheadOf([...ids]);
    const afterReadAhead = counted.reads();
    expect(afterReadAhead - readsBefore).toBe(2); // the primer's own read, and one read-ahead for both
    for (let i = 0; i < ids.length; i++) expect(await deps.releaseNext()).toEqual({ kind: 'committed' });
    expect(counted.reads()).toBe(afterReadAhead); // no claim read its own row
    expect(deps.claimReads).toEqual(['own', 'ahead', 'ahead']); // the primer's, then the two (the metric's figures)
    for (const id of ids) {
      expect(await f.row(id)).toMatchObject({ status: 'committed', attempts: 1 });
      expect((await f.events(id)).map((e) => e.type)).toEqual(['commit.started', 'commit.succeeded']);
      expect(callsFor(id)).toHaveLength(1);
    }
  });

  it('params changed after the read-ahead: refused as the row is now, nothing released', async () => {
    const id = await f.insertApproved();
    const deps = await readAheadOf([id]);
    await f.db.sql`update actions set params = '{"job":"something else"}' where id = ${id}`;
    expect(await deps.releaseNext()).toEqual({ kind: 'refused' });
    expect(await f.row(id)).toMatchObject({ status: 'refused', failure: { code: 'payload-changed' } });
    expect(callsFor(id)).toHaveLength(0);
  });

  it('agent suspended after the read-ahead (its row read as active): cancelled, not released', async () => {
    const { agent } = await createAgent(f.db.db, { name: 'suspended-after-read-ahead', owner: 'platform', scopes: ['external_automation.*'] }, 'admin:test');
    const id = await insertApproved(f.db, agent.id);
    const deps = await readAheadOf([id]);
    await f.db.db.update(agents).set({ status: 'suspended' }).where(eq(agents.id, agent.id));
    expect(await deps.releaseNext()).toEqual({ kind: 'cancelled' });
    expect(await f.row(id)).toMatchObject({ status: 'cancelled', failure: { code: 'agent-killed' } });
    expect(callsFor(id)).toHaveLength(0);
  });

  it('cancelled after the read-ahead: skipped, nothing released', async () => {
    const id = await f.insertApproved();
    const deps = await readAheadOf([id]);
    await f.db.sql`update actions set status = 'cancelled' where id = ${id}`;
    expect(await deps.releaseNext()).toEqual({ kind: 'skipped', reason: 'action is cancelled' });
    expect(callsFor(id)).toHaveLength(0);
  });

  it('read ahead while leased elsewhere, given back since: claimed as it is now, not answered from the old read', async () => {
    const id = await f.insertApproved({ status: 'executing', attempts: 1, leaseExpiresAt: new Date(Date.now() + 60_000) });
    const deps = await readAheadOf([id]);
    await f.db.sql`update actions set status = 'queued', lease_expires_at = null where id = ${id}`;
    expect(await deps.releaseNext()).toEqual({ kind: 'committed' });
    expect(deps.claimReads).toEqual(['own', 'own']);
    expect(await f.row(id)).toMatchObject({ status: 'committed', attempts: 2 });
    expect(callsFor(id)).toHaveLength(1);
  });
});

describe('readAhead()', () => {
  it('holds each row for one claim, and not beyond its age limit', async () => {
    const [a, b] = [await f.insertApproved(), await f.insertApproved()];
    let asked = 0;
    const ahead = readAhead(f.db.db, async (count) => (asked++, [a, b].slice(0, count)), { count: 4, maxAgeMs: 200 });
    expect(ahead.take(a)).toBeUndefined(); // nothing read yet: this take starts the read-ahead
    await ahead.settled();
    expect(asked).toBe(1);
    expect(ahead.take(a)).toMatchObject({ id: a, agent_status: 'active' });
    expect(ahead.take(a)).toBeUndefined(); // taken once
    await ahead.settled();
    await new Promise((r) => setTimeout(r, 250));
    expect(ahead.take(b)).toBeUndefined(); // read too long ago
  });

  it('a read-ahead that fails is a miss, and the next one works', async () => {
    const id = await f.insertApproved();
    let fail = true;
    const ahead = readAhead(f.db.db, async () => {
      if (fail) throw new Error('Redis is down');
      return [id];
    });
    expect(ahead.take(id)).toBeUndefined();
    await ahead.settled();
    expect(ahead.take(id)).toBeUndefined();
    fail = false;
    await ahead.settled();
    expect(ahead.take(id)).toBeUndefined(); // started the working read-ahead
    await ahead.settled();
    expect(ahead.take(id)).toMatchObject({ id });
  });
});

describe('waitingCommitIds()', () => {
  it('answers the waiting commits in the order a worker takes them, and no more than asked', async () => {
    const prefix = uniquePrefix('read-ahead');
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue<CommitJob>(COMMIT_QUEUE, { connection, prefix });
    try {
      const ids = ['act_ra_1', 'act_ra_2', 'act_ra_3', 'act_ra_4'];
      for (const id of ids) await enqueueCommit(queue, id);
      await queue.add('commit', { action_id: 'act_ra_5' }, { jobId: 'not-an-action' });
      expect(await waitingCommitIds(queue, 3)).toEqual(ids.slice(0, 3));
      const taken: string[] = [];
      const worker = new Worker<CommitJob>(COMMIT_QUEUE, async (job) => void taken.push(job.id!), { connection: connection.duplicate(), prefix, concurrency: 1 });
      for (let i = 0; i < 200 && taken.length < 5; i++) await new Promise((r) => setTimeout(r, 20));
      await worker.close();
      expect(taken.slice(0, 4)).toEqual(ids);
      expect(await waitingCommitIds(queue, 3)).toEqual([]);
    } finally {
      await queue.close();
      connection.disconnect();
      await deletePrefix(prefix);
    }
  });
});
