import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { logger } from '../lib/logger';
import { COMMIT_QUEUE, commitJob, type CommitJob } from './commit-queue';
import { releaseCommit, type ReleaseDeps } from './release';

export class RetriableCommitError extends Error {}

/** The BullMQ worker that releases commits. Every job payload is validated before work starts. */
export function startCommitWorker(
  deps: ReleaseDeps,
  connection: Redis,
  prefix: string,
  opts: { concurrency?: number; onOutcome?(actionId: string, kind: string): void } = {},
): Worker<CommitJob> {
  const worker = new Worker<CommitJob>(
    COMMIT_QUEUE,
    async (job: Job<CommitJob>, token?: string) => {
      const { action_id } = commitJob.parse(job.data);
      const outcome = await releaseCommit(deps, action_id);
      opts.onOutcome?.(action_id, outcome.kind);
      if (outcome.kind === 'throttled') {
        // Over the executor's release rate: park the job until the window has room, without using an attempt.
        await job.moveToDelayed(Date.now() + outcome.delayMs, token);
        throw new DelayedError();
      }
      if (outcome.kind === 'retry') throw new RetriableCommitError(`attempt ${outcome.attempts}: ${outcome.reason}`);
      return outcome;
    },
    { connection, prefix, concurrency: opts.concurrency ?? 8, lockDuration: 60_000 },
  );
  worker.on('error', (err) => logger.error({ err }, 'commit worker error'));
  return worker;
}
