import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { actions, commitOutbox } from '../../src/db/schema';
import { COMMIT_QUEUE, type CommitJob } from '../../src/queue/commit-queue';
import { reconcileCommits, relayOutbox } from '../../src/queue/relay';
import { releaseCommit } from '../../src/release';
import { decideApproval } from '../../src/approvals/decide';
import { REDIS_URL, deletePrefix, uniquePrefix } from '../support/redis';
import { ALICE, BOB } from '../support/harness';
import { startReleaseFixture, type ReleaseFixture } from './support';

let f: ReleaseFixture;
let redis: Redis;
let queue: Queue<CommitJob>;
const prefix = uniquePrefix('relay');

beforeAll(async () => {
  f = await startReleaseFixture();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  queue = new Queue<CommitJob>(COMMIT_QUEUE, { connection: redis, prefix });
});
afterAll(async () => {
  await queue.close();
  redis.disconnect();
  await deletePrefix(prefix);
  await f.close();
});

const jobIds = async () => (await queue.getJobs(['waiting', 'delayed', 'active', 'prioritized'])).map((j) => j.id).sort();

describe('outbox relay and reconciliation', () => {
  it('relays each commit intent once: one job per action (job id = action id), action queued with evidence', async () => {
    const ids = [await f.insertApproved(), await f.insertApproved(), await f.insertApproved()];
    const [a, b] = await Promise.all([relayOutbox(f.db.db, queue), relayOutbox(f.db.db, queue)]);
    expect(a + b).toBe(3);
    expect(await relayOutbox(f.db.db, queue)).toBe(0);
    expect(await jobIds()).toEqual([...ids].sort());
    for (const id of ids) {
      expect((await f.row(id)).status).toBe('queued');
      expect((await f.events(id)).map((e) => e.type)).toEqual(['commit.queued']);
    }
    const pending = await f.db.db.select().from(commitOutbox).where(sql`${commitOutbox.enqueuedAt} is null`);
    expect(pending).toHaveLength(0);
  });

  it('after Redis lost everything, reconciliation queues every unfinished commit again, and only those', async () => {
    const queued = await jobIds();
    const expired = await f.insertApproved();
    const live = await f.insertApproved();
    const done = await f.insertApproved();
    await f.db.db.update(actions).set({ status: 'executing', leaseExpiresAt: sql`now() - interval '1 second'` }).where(eq(actions.id, expired));
    await f.db.db.update(actions).set({ status: 'executing', leaseExpiresAt: sql`now() + interval '1 minute'` }).where(eq(actions.id, live));
    await f.db.db.update(actions).set({ status: 'committed' }).where(eq(actions.id, done));
    await deletePrefix(prefix); // what a flushed Redis looks like to this queue
    expect(await jobIds()).toEqual([]);
    const requeued = await reconcileCommits(f.db.db, queue, 0);
    expect(requeued.sort()).toEqual([...queued, expired].sort());
    // Jobs that exist are left alone: a second pass queues nothing.
    expect(await reconcileCommits(f.db.db, queue, 0)).toEqual([]);
  });
});

describe('the same action approved twice at once', () => {
  it('one approval wins, one commit intent, one effect', async () => {
    const id = await f.insertApproved({
      status: 'pending_approval',
      decision: 'escalate',
      approverGroup: 'automation-ops',
      approvalsRequired: 1,
      approvedAt: null,
      approvedPayloadHash: null,
      expiresAt: new Date(Date.now() + 600_000),
    });
    await f.db.db.delete(commitOutbox).where(eq(commitOutbox.actionId, id));
    const row = await f.row(id);
    const decide = (userId: string) => decideApproval(f.db.db, async () => true, { actionId: id, userId, verdict: 'approve', shownPayloadHash: row.payloadHash });
    const outcomes = await Promise.all([decide(ALICE), decide(BOB), decide(ALICE), decide(BOB)]);
    expect(outcomes.filter((o) => o.kind === 'approved')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'refused').length).toBe(3);
    expect(await f.db.db.select().from(commitOutbox).where(eq(commitOutbox.actionId, id))).toHaveLength(1);
    await relayOutbox(f.db.db, queue);
    const releases = await Promise.all([releaseCommit(f.deps, id), releaseCommit(f.deps, id)]);
    expect(releases.filter((r) => r.kind === 'committed')).toHaveLength(1);
    expect(f.executor.calls.filter((c) => c.body.action_id === id)).toHaveLength(1);
    expect(f.executor.effects.get(id)).toBe(1);
  });
});
