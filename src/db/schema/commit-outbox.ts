import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { actions } from './actions';

/**
 * Commit intents, written in the same transaction as the approval. The relay moves them into BullMQ;
 * Postgres stays the source of truth if Redis loses everything.
 */
export const commitOutbox = pgTable(
  'commit_outbox',
  {
    actionId: text('action_id')
      .primaryKey()
      .references(() => actions.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    enqueuedAt: timestamp('enqueued_at', { withTimezone: true }),
  },
  (t) => [index('commit_outbox_pending_idx').on(t.createdAt)],
);
