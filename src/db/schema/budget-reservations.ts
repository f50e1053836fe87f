import { boolean, index, numeric, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { actions } from './actions';

/**
 * What one action holds against one budget counter. Settled exactly once, by the transition that ends
 * the action (src/approvals/transition.ts): `spent` on committed, `released` on every other end.
 */
export const budgetReservations = pgTable(
  'budget_reservations',
  {
    actionId: text('action_id')
      .notNull()
      .references(() => actions.id),
    budget: text('budget').notNull(),
    scopeKey: text('scope_key').notNull(),
    window: text('window').notNull(),
    amount: numeric('amount').notNull(),
    /** 'reserved' | 'spent' | 'released' */
    state: text('state').notNull().default('reserved'),
    /**
     * Reserved beyond the budget's max because the budget says `on_exceed: escalate`: the action waits for a
     * human, and if approved it is admitted this once (the release re-check lets it through).
     */
    overrun: boolean('overrun').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    settledAt: timestamp('settled_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.actionId, t.budget] }), index('budget_reservations_counter_idx').on(t.budget, t.scopeKey, t.window)],
);

export type BudgetReservationRow = typeof budgetReservations.$inferSelect;
