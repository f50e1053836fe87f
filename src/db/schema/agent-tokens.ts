import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { agents } from './agents';

/** Agent bearer tokens, stored only as SHA-256 hashes. Shown once at creation. */
export const agentTokens = pgTable(
  'agent_tokens',
  {
    id: text('id').primaryKey(),
    agentId: text('agent_id')
      .notNull()
      .references(() => agents.id),
    tokenHash: text('token_hash').notNull().unique(),
    /** The visible start of the token (e.g. `cs_agt_ab12…`) so operators can recognise it in logs. */
    displayPrefix: text('display_prefix').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    createdBy: text('created_by').notNull(),
    /** Set by rotation: the old token keeps working until then. */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedBy: text('revoked_by'),
  },
  (t) => [index('agent_tokens_agent_idx').on(t.agentId)],
);

export type AgentTokenRow = typeof agentTokens.$inferSelect;
