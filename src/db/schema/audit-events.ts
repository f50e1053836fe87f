import { bigserial, index, jsonb, pgTable, smallint, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The append-only evidence stream (docs/audit.md). Every event carries the action id, correlation id,
 * actor and the policy bundle version in force. Written only through src/audit/append.ts.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    id: text('id').notNull().unique(),
    schemaVersion: text('schema_version').notNull().default('1'),
    type: text('type').notNull(),
    actionId: text('action_id'),
    correlationId: text('correlation_id'),
    agentId: text('agent_id'),
    /** `agent:<id>`, `slack:<user id>`, `admin:<id>`, `system` */
    actor: text('actor').notNull(),
    policyVersion: text('policy_version'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    prevHash: text('prev_hash'),
    hash: text('hash'),
    /** Which of the parallel hash chains the event is linked into (src/audit/append.ts, CHAIN_LANES). */
    chainLane: smallint('chain_lane').notNull().default(0),
  },
  (t) => [
    // Every query orders by seq (the chain order) and pages on it; a time range is first turned into a seq
    // range through audit_created_idx (created_at never decreases along the chain, see append.ts).
    index('audit_action_idx').on(t.actionId, t.seq),
    index('audit_correlation_idx').on(t.correlationId, t.seq),
    index('audit_agent_seq_idx').on(t.agentId, t.seq),
    index('audit_actor_seq_idx').on(t.actor, t.seq),
    index('audit_type_seq_idx').on(t.type, t.seq),
    index('audit_created_idx').on(t.createdAt, t.seq),
    // The head of each chain lane, read under the lane's lock on every append.
    index('audit_lane_seq_idx').on(t.chainLane, t.seq),
  ],
);

export type AuditEventRow = typeof auditEvents.$inferSelect;
