import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** Operator credentials for admin APIs (agents, kill switch, audit export); separate from agent tokens. */
export const adminCredentials = pgTable('admin_credentials', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  tokenHash: text('token_hash').notNull().unique(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
});
