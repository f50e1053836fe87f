import { index, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { actions } from './actions';

/** A human's answer to a pending action. One per approver per action: double clicks cannot count twice. */
export const approvals = pgTable(
  'approvals',
  {
    id: text('id').primaryKey(),
    actionId: text('action_id')
      .notNull()
      .references(() => actions.id),
    /** `slack:<user id>` */
    approver: text('approver').notNull(),
    /** 'approve' | 'deny' */
    verdict: text('verdict').notNull(),
    reason: text('reason'),
    /** The payload hash shown on the card the approver acted on. */
    payloadHash: text('payload_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('approvals_action_approver_uq').on(t.actionId, t.approver), index('approvals_action_idx').on(t.actionId)],
);

export type ApprovalRow = typeof approvals.$inferSelect;
