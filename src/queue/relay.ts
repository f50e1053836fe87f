import { and, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Queue } from 'bullmq';
import type { Db } from '../db/client';
import { actions, commitOutbox } from '../db/schema';
import { appendEvents } from '../audit/append';
import { transitionAction } from '../approvals/transition';
import { enqueueCommit, type CommitJob } from './commit-queue';

/**
 * Moves commit intents from the outbox into BullMQ. Rows are claimed with SKIP LOCKED so several
 * instances can relay at once without queuing twice (and the job id is the action id anyway).
 */
export async function relayOutbox(db: Db, queue: Queue<CommitJob>, limit = 100): Promise<number> {
  const ids = await db.transaction(async (tx) => {
    const pending = await tx
      .select({ actionId: commitOutbox.actionId })
      .from(commitOutbox)
      .where(isNull(commitOutbox.enqueuedAt))
      .orderBy(commitOutbox.createdAt)
      .limit(limit)
      .for('update', { skipLocked: true });
    if (pending.length === 0) return [];
    const ids = pending.map((p) => p.actionId);
    // Record the move to `queued` (row locks, then evidence) and commit it before enqueuing: a worker always
    // finds `commit.queued` in the chain before its own events, and no Redis call ever runs while this
    // transaction holds row locks or the evidence chain lock (a Redis outage must not stall the intake).
    const moved = [];
    for (const id of ids) {
      const row = await transitionAction(tx, id, ['approved'], 'queued');
      if (row) moved.push(row);
    }
    await appendEvents(
      tx,
      moved.map((row) => ({
        type: 'commit.queued',
        actor: 'system',
        actionId: row.id,
        correlationId: row.correlationId,
        agentId: row.agentId,
        policyVersion: row.policyVersion,
        data: { executor: row.executor },
      })),
    );
    await tx.update(commitOutbox).set({ enqueuedAt: sql`now()` }).where(inArray(commitOutbox.actionId, ids));
    return ids;
  });
  // If Redis fails here the actions are `queued` without a job; reconciliation finds and queues them again.
  await Promise.all(ids.map((id) => enqueueCommit(queue, id)));
  return ids.length;
}

/**
 * Reconciliation: every approved or queued commit whose job is gone (Redis flushed or restarted), and every
 * `executing` one whose worker lease ran out (worker killed), is queued again. Postgres is the source of truth.
 */
export async function reconcileCommits(db: Db, queue: Queue<CommitJob>, olderThanMs = 5_000): Promise<string[]> {
  const cutoff = new Date(Date.now() - olderThanMs);
  const candidates = await db
    .select({ id: actions.id, status: actions.status })
    .from(actions)
    .where(
      and(
        or(
          and(inArray(actions.status, ['approved', 'queued']), lt(actions.updatedAt, cutoff)),
          and(eq(actions.status, 'executing'), lt(actions.leaseExpiresAt, sql`now()`)),
        ),
      ),
    )
    .limit(1000);
  const requeued: string[] = [];
  for (const c of candidates) {
    const job = await queue.getJob(c.id);
    const state = job ? await job.getState() : 'missing';
    if (state === 'missing' || state === 'completed' || state === 'failed' || state === 'unknown') {
      if (job) await job.remove().catch(() => undefined);
      await enqueueCommit(queue, c.id);
      requeued.push(c.id);
    }
  }
  return requeued;
}
