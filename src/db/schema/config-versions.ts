import { bigserial, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * version_log for countersign.yaml: every load (at start-up when it differs from the last one recorded, and
 * on every reload) and every refused change, with the diff against the previous version. Secrets never
 * appear: `snapshot` and `diff` are redacted (src/config/version-log.ts).
 */
export const configVersions = pgTable('config_versions', {
  seq: bigserial('seq', { mode: 'number' }).primaryKey(),
  /** `cfg_` + sha256 of the redacted snapshot: same settings, same version. */
  version: text('version').notNull(),
  /** 'loaded' | 'refused' */
  outcome: text('outcome').notNull(),
  path: text('path').notNull(),
  /** The redacted configuration (null for a refused change that did not parse). */
  snapshot: jsonb('snapshot').$type<Record<string, unknown> | null>(),
  /** [{ path, before, after }] against the version in force before. */
  diff: jsonb('diff').$type<unknown[]>().notNull(),
  errors: jsonb('errors').$type<string[] | null>(),
  /** Who changed the file, as far as the server can tell (the file's owner), and why it was read. */
  changedBy: text('changed_by').notNull(),
  reason: text('reason').notNull(),
  instance: text('instance').notNull(),
  loadedAt: timestamp('loaded_at', { withTimezone: true }).notNull().defaultNow(),
});
