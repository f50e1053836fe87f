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
  worker.on('failed', (job, err) => {
    // Slack's most common first-day refusal: the bot was never invited to the approver group's channel.
    const hint = /not_in_channel/.test(String((err as Error)?.message)) ? ': the bot is not in the channel — /invite it there (docs/slack.md, "The manifest")' : '';
    logger.warn({ err, job: job?.data, attempts: job?.attemptsMade }, `card job failed; will retry${hint}`);
  });
  worker.on('error', (err) => logger.error({ err }, 'card worker error'));
  return worker;
}
