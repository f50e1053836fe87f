import { index, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { actions } from './actions';

/**
 * A human's answer to a pending action. One per approver per payload: double clicks cannot count twice, and
 * after an edit (a new payload hash) everyone answers the payload now shown.
 */
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
    /** Set when this approval was given by a standing grant (src/grants) on the grant's humans' behalf. */
    grantId: text('grant_id'),
    /** "Approve this and similar": the grant this approver asked for (duration_seconds, count). */
    grantRequest: jsonb('grant_request').$type<{ duration_seconds: number; count: number } | null>(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('approvals_action_approver_hash_uq').on(t.actionId, t.approver, t.payloadHash), index('approvals_action_idx').on(t.actionId)],
);

export type ApprovalRow = typeof approvals.$inferSelect;
