import { bigserial, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** version_log: every policy bundle load or refusal, with its files and hash. */
export const policyVersions = pgTable('policy_versions', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  version: text('version').notNull(),
  /** 'loaded' | 'refused' */
  outcome: text('outcome').notNull(),
  files: jsonb('files').$type<unknown[]>().notNull(),
  errors: jsonb('errors').$type<unknown[]>(),
  loadedBy: text('loaded_by').notNull(),
  instance: text('instance').notNull(),
  loadedAt: timestamp('loaded_at', { withTimezone: true }).notNull().defaultNow(),
});
