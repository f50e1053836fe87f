import { and, eq, isNotNull } from 'drizzle-orm';
import type { Db } from '../db/client';
import { actions } from '../db/schema';
import { connectRedis } from '../queue/connection';
import { createCardQueue, enqueueCardJob } from '../queue/card-queue';

/**
 * The sandbox's Slack lives in memory, so after a restart the cards of pending actions are gone. Forget
 * where they were and queue them again: the card worker posts them to the fresh emulator.
 */
export async function repostPendingCards(db: Db, redisUrl: string, prefix: string): Promise<number> {
  const pending = await db
    .update(actions)
    .set({ slackChannel: null, slackTs: null })
    .where(and(eq(actions.status, 'pending_approval'), isNotNull(actions.slackTs)))
    .returning({ id: actions.id });
  if (pending.length === 0) return 0;
  const redis = connectRedis(redisUrl, 'countersign:sandbox');
  const queue = createCardQueue(redis, prefix);
  try {
    for (const { id } of pending) await enqueueCardJob(queue, { kind: 'update', action_id: id });
  } finally {
    await queue.close();
    redis.disconnect();
  }
  return pending.length;
}
