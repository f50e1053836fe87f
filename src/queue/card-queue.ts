import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const CARD_QUEUE = 'cards';

/** Slack notifications that must eventually happen: posting a card, updating it, replying in its thread. */
export const cardJob = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('post'), action_id: z.string() }),
  z.object({ kind: z.literal('update'), action_id: z.string() }),
  z.object({ kind: z.literal('outcome'), action_id: z.string() }),
  /** Re-post the pending card to the policy's `escalate_to` group (after `escalated_at` was set). */
  z.object({ kind: z.literal('escalate'), action_id: z.string() }),
]);
export type CardJob = z.infer<typeof cardJob>;

export const CARD_JOB_OPTIONS: JobsOptions = {
  // Slack outages can last a while; keep trying for about an hour, the action stays pending meanwhile.
  attempts: 30,
  backoff: { type: 'exponential', delay: 1000, jitter: 0.3 },
  removeOnComplete: true,
  removeOnFail: 1000,
};

export function createCardQueue(connection: Redis, prefix: string): Queue<CardJob> {
  return new Queue<CardJob>(CARD_QUEUE, { connection, prefix });
}

export async function enqueueCardJob(queue: Queue<CardJob>, job: CardJob): Promise<void> {
  // One post (and one escalation re-post) per action; updates and outcomes may repeat, so they get no fixed id.
  const jobId = job.kind === 'post' || job.kind === 'escalate' ? `${job.kind}-${job.action_id}` : undefined;
  await queue.add(job.kind, job, { ...CARD_JOB_OPTIONS, ...(jobId ? { jobId } : {}) });
}
