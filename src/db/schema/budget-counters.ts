import { numeric, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * One row per budget, scope and window (src/controls/budgets.ts): what is reserved by accepted actions
 * and what was spent by committed ones. A reservation is a conditional update of this row
 * (`… WHERE reserved + spent + amount <= max`), so concurrent requests can never overspend.
 */
export const budgetCounters = pgTable(
  'budget_counters',
  {
    budget: text('budget').notNull(),
    /** `agt_…` for per-agent budgets, `agt_…/<correlation id>` for per-task ones. */
    scopeKey: text('scope_key').notNull(),
    /** The UTC day (`2026-11-25`) for daily budgets, `task` for per-task ones. */
    window: text('window').notNull(),
    reserved: numeric('reserved').notNull().default('0'),
    spent: numeric('spent').notNull().default('0'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.budget, t.scopeKey, t.window] })],
);

export type BudgetCounterRow = typeof budgetCounters.$inferSelect;
