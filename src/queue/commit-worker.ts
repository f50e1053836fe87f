import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { logger } from '../lib/logger';
import { COMMIT_QUEUE, commitJob, type CommitJob } from './commit-queue';
import { releaseCommit, type ReleaseDeps, type ReleaseOutcome } from './release';

export class RetriableCommitError extends Error {}

export type CommitWorkerOptions = {
  concurrency?: number;
  /** BullMQ lock on an active job; a killed worker's job is taken again after this (stalled check). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  onOutcome?(actionId: string, outcome: ReleaseOutcome): void;
};

/** The BullMQ worker that releases commits. Every job payload is validated before work starts. */
export function startCommitWorker(deps: ReleaseDeps, connection: Redis, prefix: string, opts: CommitWorkerOptions = {}): Worker<CommitJob> {
  const worker = new Worker<CommitJob>(
    COMMIT_QUEUE,
    async (job: Job<CommitJob>, token?: string) => {
      const { action_id } = commitJob.parse(job.data);
      const outcome = await releaseCommit(deps, action_id);
      opts.onOutcome?.(action_id, outcome);
      if (outcome.kind === 'throttled' || outcome.kind === 'leased') {
        // Park the job without using an attempt: over the release rate, or another worker's lease is live.
        await job.moveToDelayed(Date.now() + outcome.delayMs, token);
        throw new DelayedError();
      }
      if (outcome.kind === 'retry') throw new RetriableCommitError(`attempt ${outcome.attempts}: ${outcome.reason}`);
      return outcome;
    },
    {
      connection,
      prefix,
      concurrency: opts.concurrency ?? 8,
      lockDuration: opts.lockDurationMs ?? 60_000,
      stalledInterval: opts.stalledIntervalMs ?? 30_000,
      // A job whose worker died is taken again a few times; beyond that reconciliation queues it anew.
      maxStalledCount: 5,
    },
  );
  worker.on('failed', (job, err) => {
    if (!(err instanceof RetriableCommitError)) logger.warn({ err, action_id: job?.data.action_id }, 'commit job failed; it will be retried');
  });
  worker.on('error', (err) => logger.error({ err }, 'commit worker error'));
  return worker;
}
