import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { logger } from '../lib/logger';
import { COMMIT_QUEUE, commitJob, type CommitJob } from './commit-queue';
import { releaseCommit, type ReleaseDeps, type ReleaseOutcome } from '../release';

export class RetriableCommitError extends Error {}

export type CommitWorkerOptions = {
  concurrency?: number;
  /** BullMQ lock on an active job; a killed worker's job is taken again after this (stalled check). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  onOutcome?(actionId: string, outcome: ReleaseOutcome): void;
};

/** What a commit job answers when its executor call is over and only the record of the answer remains. */
export type RecordingOutcome = { kind: 'recording' };

/**
 * The BullMQ worker that releases commits. Every job payload is validated before work starts.
 *
 * A job whose executor call succeeded or was rejected for good is complete once the call is over: what
 * remains is to record the answer, which the job's outcome no longer depends on (no retry follows either
 * way). The record goes on in the background, in the release writer's next group commit, while the job's
 * slot takes the next commit; `close()` waits for those records. A retriable answer is recorded before
 * the job ends, because BullMQ's retry must find the action back in `queued`.
 *
 * Nothing is weakened by finishing early: the lease and the attempt fence are the same, and a record that
 * cannot be written (PostgreSQL down, or this process killed) leaves the action `executing` under its
 * lease, which reconciliation queues again when the lease runs out — what a failed job's retry led to
 * before (its claim was parked until the lease ran out, then took the action over).
 */
export class CommitWorker extends Worker<CommitJob> {
  private readonly recording = new Set<Promise<unknown>>();

  constructor(deps: ReleaseDeps, connection: Redis, prefix: string, opts: CommitWorkerOptions = {}) {
    super(
      COMMIT_QUEUE,
      async (job: Job<CommitJob>, token?: string) => {
        const { action_id } = commitJob.parse(job.data);
        let calledForGood!: () => void;
        const called = new Promise<RecordingOutcome>((resolve) => (calledForGood = () => resolve({ kind: 'recording' })));
        const release = releaseCommit(deps, action_id, { called: (o) => o.kind !== 'retriable' && calledForGood() });
        const first = await Promise.race([release, called]);
        if (first.kind === 'recording') {
          this.track(
            release.then(
              (outcome) => opts.onOutcome?.(action_id, outcome),
              (err) => logger.error({ err, action_id }, 'could not record a commit outcome; reconciliation takes the action over when its lease runs out'),
            ),
          );
          return first;
        }
        const outcome = first;
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
    this.on('failed', (job, err) => {
      if (!(err instanceof RetriableCommitError)) logger.warn({ err, action_id: job?.data.action_id }, 'commit job failed; it will be retried');
    });
    this.on('error', (err) => logger.error({ err }, 'commit worker error'));
  }

  /** Stops taking jobs, waits for the active ones, then for the records still being written. */
  override async close(force = false): Promise<void> {
    await super.close(force);
    while (this.recording.size) await Promise.allSettled([...this.recording]);
  }

  private track(p: Promise<unknown>): void {
    this.recording.add(p);
    void p.finally(() => this.recording.delete(p));
  }
}

export function startCommitWorker(deps: ReleaseDeps, connection: Redis, prefix: string, opts: CommitWorkerOptions = {}): Worker<CommitJob> {
  return new CommitWorker(deps, connection, prefix, opts);
}
