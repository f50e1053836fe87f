import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { agents } from './agents';

/**
 * A task the server opened for an agent (POST /v1/tasks): the unit per-task budgets count against. The agent
 * cannot mint one by choosing a new id; how many it may hold open, and open per day, is configured.
 */
export const tasks = pgTable(
  'tasks',
  {
    id: text('id').primaryKey(),
    agentId: text('agent_id')
      .notNull()
      .references(() => agents.id),
    /** 'open' | 'closed'. An open task past expires_at counts as expired. */
    status: text('status').notNull().default('open'),
    description: text('description').notNull().default(''),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    closedAt: timestamp('closed_at', { withTimezone: true }),
  },
  (t) => [index('tasks_agent_created_idx').on(t.agentId, t.createdAt)],
);

export type TaskRow = typeof tasks.$inferSelect;
