import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Who runs a periodic task right now (src/queue/periodic.ts): one row per task, taken by a single
 * conditional upsert and given back when the run ends. A lease row instead of an advisory lock because an
 * advisory lock lives in a session or a transaction, and holding either for a whole run pins a server
 * connection while the run's own queries need others: behind PgBouncer in transaction mode that starved the
 * pool (docs/operations.md, "PgBouncer").
 */
export const periodicLeases = pgTable('periodic_leases', {
  task: text('task').primaryKey(),
  /** The run holding it: instance and a random run id, so only that run renews or gives it back. */
  holder: text('holder').notNull(),
  /** Renewed while the run lasts; a holder that died stops renewing and the lease lapses. */
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
});
