import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { logger } from '../lib/logger';
import { CARD_QUEUE, cardJob, type CardJob } from './card-queue';

/** Delivers card jobs to whatever notifier main.ts wired (Slack, or nothing when Slack is off). */
export function startCardWorker(
  handler: { handle(job: CardJob): Promise<void> },
  connection: Redis,
  prefix: string,
  concurrency = 4,
): Worker<CardJob> {
  const worker = new Worker<CardJob>(
    CARD_QUEUE,
    async (job) => {
      await handler.handle(cardJob.parse(job.data));
    },
    { connection, prefix, concurrency },
  );
  worker.on('failed', (job, err) => logger.warn({ err, job: job?.data, attempts: job?.attemptsMade }, 'card job failed; will retry'));
  worker.on('error', (err) => logger.error({ err }, 'card worker error'));
  return worker;
}
