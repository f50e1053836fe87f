import { sql } from 'drizzle-orm';
import { integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** An agent is its own service identity: an owner, the action-class globs it may ever request, a status. */
export const agents = pgTable('agents', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  /**
   * Who answers for the agent: a label, or a Slack user (U…) or user group (S…, `<!subteam^S…>`), who can then
   * never approve this agent's actions (src/approvals/self-approval.ts).
   */
  owner: text('owner').notNull().default(''),
  /** Free labels for per-team policy rules (`agent.tags`). */
  tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
  scopes: text('scopes').array().notNull(),
  /** 'active' | 'suspended' (kill switch). */
  status: text('status').notNull().default('active'),
  /** Requests per minute; null means the deployment default. */
  rateLimitPerMinute: integer('rate_limit_per_minute'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  suspendedAt: timestamp('suspended_at', { withTimezone: true }),
  suspendedBy: text('suspended_by'),
});

export type AgentRow = typeof agents.$inferSelect;
