import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { actions } from './actions';
import { agents } from './agents';

/**
 * "Approve this and similar" (docs/policy.md, "Standing grants"): the humans who approved `origin_action_id`
 * let later requests of the same agent and action class, differing only in the rule's variable fields within
 * their bounds, be approved without asking again, `max_count` times until `expires_at`. Each use is one
 * conditional update of `used_count` in the using action's creating transaction, so two instances can never
 * both take the last use.
 */
export const standingGrants = pgTable(
  'standing_grants',
  {
    id: text('id').primaryKey(),
    originActionId: text('origin_action_id')
      .notNull()
      .unique()
      .references(() => actions.id),
    agentId: text('agent_id')
      .notNull()
      .references(() => agents.id),
    actionClass: text('action_class').notNull(),
    executor: text('executor').notNull(),
    ruleId: text('rule_id').notNull(),
    /** The policy bundle version the grant was given under: a different version in force ends it. */
    policyVersion: text('policy_version').notNull(),
    approverGroup: text('approver_group').notNull(),
    /** SHA-256 of the payload without its variable fields: what "similar" keeps fixed. */
    fixedHash: text('fixed_hash').notNull(),
    /** The rule's variable fields and their bounds, as they were when granted. */
    variable: jsonb('variable').$type<Record<string, unknown>>().notNull(),
    /** The humans whose approvals made the grant (`slack:<id>`). */
    approvers: jsonb('approvers').$type<string[]>().notNull(),
    maxCount: integer('max_count').notNull(),
    usedCount: integer('used_count').notNull().default(0),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** 'active' | 'ended'. A grant past its time or count is also ended when next looked at. */
    status: text('status').notNull().default('active'),
    /** exhausted | expired | revoked | agent-killed | policy-changed */
    endedReason: text('ended_reason'),
    endedBy: text('ended_by'),
    endedAt: timestamp('ended_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('standing_grants_active_idx').on(t.agentId, t.actionClass).where(sql`status = 'active'`)],
);

export type StandingGrantRow = typeof standingGrants.$inferSelect;
