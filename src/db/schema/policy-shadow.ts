import { bigint, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * What a candidate policy bundle decided in shadow beside the enforced one (src/policy-rollout/shadow.ts):
 * counters per (candidate, enforced) pair, added to in batches by every instance. The disagreements themselves
 * are `policy.shadow_disagreed` audit events.
 */
export const policyShadow = pgTable(
  'policy_shadow',
  {
    candidateVersion: text('candidate_version').notNull(),
    enforcedVersion: text('enforced_version').notNull(),
    shadowed: bigint('shadowed', { mode: 'number' }).notNull().default(0),
    disagreements: bigint('disagreements', { mode: 'number' }).notNull().default(0),
    /** The candidate would allow what the enforced bundle denies or escalates. */
    newAllows: bigint('new_allows', { mode: 'number' }).notNull().default(0),
    /** … of which the enforced bundle denied, or escalated as high risk. */
    newAllowsHighRisk: bigint('new_allows_high_risk', { mode: 'number' }).notNull().default(0),
    newDenies: bigint('new_denies', { mode: 'number' }).notNull().default(0),
    newEscalations: bigint('new_escalations', { mode: 'number' }).notNull().default(0),
    /** Same decision (escalate) but another approver group or quorum. */
    approverChanges: bigint('approver_changes', { mode: 'number' }).notNull().default(0),
    firstSeen: timestamp('first_seen', { withTimezone: true }).notNull().defaultNow(),
    lastSeen: timestamp('last_seen', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.candidateVersion, t.enforcedVersion] })],
);
