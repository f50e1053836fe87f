import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const COMMIT_QUEUE = 'commits';

export const commitJob = z.object({ action_id: z.string().startsWith('act_') });
export type CommitJob = z.infer<typeof commitJob>;

/**
 * The job id is the action id, so a commit is queued once. Completed and failed jobs are removed:
 * Postgres records the outcome, and reconciliation must be able to queue an action again.
 * Attempts are counted in Postgres (actions.attempts); BullMQ's own count is only a backstop.
 */
export const COMMIT_JOB_OPTIONS: JobsOptions = {
  attempts: 100,
  backoff: { type: 'exponential', delay: 500, jitter: 0.5 },
  removeOnComplete: true,
  removeOnFail: true,
};

export function createCommitQueue(connection: Redis, prefix: string): Queue<CommitJob> {
  return new Queue<CommitJob>(COMMIT_QUEUE, { connection, prefix });
}

export async function enqueueCommit(queue: Queue<CommitJob>, actionId: string, delayMs = 0): Promise<void> {
  await queue.add('commit', { action_id: actionId }, { ...COMMIT_JOB_OPTIONS, jobId: actionId, delay: delayMs });
}

/** Several commits in one round trip (the intake's batches). */
export async function enqueueCommits(queue: Queue<CommitJob>, actionIds: string[]): Promise<void> {
  await queue.addBulk(actionIds.map((id) => ({ name: 'commit', data: { action_id: id }, opts: { ...COMMIT_JOB_OPTIONS, jobId: id } })));
}

/**
 * The ids of the next `count` commits waiting in the queue, in the order workers take them (oldest first).
 * The job id is the action id; anything else in the list is left out. Delayed jobs (throttled, leased,
 * retrying) join the list when they are due.
 */
export async function waitingCommitIds(queue: Queue<CommitJob>, count: number): Promise<string[]> {
  return (await queue.getRanges(['wait'], 0, count - 1, true)).filter((id) => id.startsWith('act_'));
}
