import { and, eq, isNotNull } from 'drizzle-orm';
import type { Db } from '../db/client';
import { actions } from '../db/schema';
import { connectRedis } from '../queue/connection';
import type { RedisTarget } from '../queue/redis-target';
import { createCardQueue, enqueueCardJob } from '../queue/card-queue';

/**
 * The sandbox's Slack lives in memory, so after a restart the cards of pending actions are gone. Forget
 * where they were and queue them again: the card worker posts them to the fresh emulator.
 */
export async function repostPendingCards(db: Db, redis: RedisTarget, prefix: string): Promise<number> {
  const pending = await db
    .update(actions)
    .set({ slackChannel: null, slackTs: null })
    .where(and(eq(actions.status, 'pending_approval'), isNotNull(actions.slackTs)))
    .returning({ id: actions.id });
  if (pending.length === 0) return 0;
  const connection = connectRedis(redis, 'countersign:sandbox');
  const queue = createCardQueue(connection, prefix);
  try {
    for (const { id } of pending) await enqueueCardJob(queue, { kind: 'update', action_id: id });
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return pending.length;
}
