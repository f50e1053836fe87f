import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { agents } from './agents';

/**
 * One row per proposed action: what the agent asked for, what policy decided, and where it is in the
 * lifecycle (docs/lifecycle.md). Status changes only through conditional updates in src/approvals.
 */
export const actions = pgTable(
  'actions',
  {
    id: text('id').primaryKey(),
    agentId: text('agent_id')
      .notNull()
      .references(() => agents.id),
    actionClass: text('action_class').notNull(),
    params: jsonb('params').$type<Record<string, unknown>>().notNull(),
    context: jsonb('context').$type<Record<string, unknown>>().notNull(),
    executor: text('executor'),
    dryRun: boolean('dry_run').notNull().default(false),
    idempotencyKey: text('idempotency_key').notNull(),
    /** Hash of the request as sent, to tell a replay from a conflicting reuse of the key. */
    requestHash: text('request_hash').notNull(),
    correlationId: text('correlation_id').notNull(),
    justification: text('justification').notNull().default(''),
    /** The validated Slack user the agent acts for, normalised (U…/W…); never an approver of this action. */
    onBehalfOf: text('on_behalf_of'),
    /** The server-issued task (`tsk_…`) whose budgets this action counts against; null: the agent's own. */
    taskId: text('task_id'),
    /**
     * The facts the decision read besides params (src/intake/facts.ts): `plan` (the executor's prepare facts),
     * `agent`, `requester`, `usage`. Kept so release re-checks decide on the same facts.
     */
    facts: jsonb('facts').$type<Record<string, unknown> | null>(),
    /** What the executor's prepare step answered: facts, preview, plan (src/executor/prepare.ts). */
    prepared: jsonb('prepared').$type<Record<string, unknown> | null>(),
    /** SHA-256 of the canonical JSON of the prepared plan; covered by payload_hash, compared again at release. */
    planHash: text('plan_hash'),
    /** SHA-256 of canonical JSON {action_class, params, context, executor[, plan_hash]}: what approvals bind to. */
    payloadHash: text('payload_hash').notNull(),
    status: text('status').notNull(),
    decision: text('decision').notNull(),
    ruleId: text('rule_id'),
    reasoning: text('reasoning').notNull(),
    policyVersion: text('policy_version').notNull(),
    escalation: jsonb('escalation').$type<Record<string, unknown> | null>(),
    approverGroup: text('approver_group'),
    approvalsRequired: integer('approvals_required').notNull().default(0),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    approvedAt: timestamp('approved_at', { withTimezone: true }),
    approvedPayloadHash: text('approved_payload_hash'),
    preview: jsonb('preview').$type<unknown>(),
    result: jsonb('result').$type<unknown>(),
    failure: jsonb('failure').$type<Record<string, unknown> | null>(),
    attempts: integer('attempts').notNull().default(0),
    /** While `executing`: the worker's lease. A crashed worker's lease runs out and the commit is taken again. */
    leaseExpiresAt: timestamp('lease_expires_at', { withTimezone: true }),
    /** The first response given for this idempotency key, returned as-is on a replay. */
    responseStatus: integer('response_status'),
    responseBody: jsonb('response_body').$type<Record<string, unknown>>(),
    slackChannel: text('slack_channel'),
    slackTs: text('slack_ts'),
    /** Set once when the card was re-posted to the policy's `escalate_to` group (the conditional update's guard). */
    escalatedAt: timestamp('escalated_at', { withTimezone: true }),
    escalationSlackChannel: text('escalation_slack_channel'),
    escalationSlackTs: text('escalation_slack_ts'),
    /**
     * Set when an approver edited the payload before approving (src/approvals/edit.ts): who, when, and what the
     * agent first asked (params and payload hash). The row's params and hashes are the edited ones.
     */
    edited: jsonb('edited').$type<Record<string, unknown> | null>(),
    /** The standing grant that approved this action (src/grants), instead of a human's click on its own card. */
    grantId: text('grant_id'),
    /** For a compensating action filed with "Roll back": the action it undoes. One rollback per action. */
    rollbackOf: text('rollback_of'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('actions_agent_idempotency_uq').on(t.agentId, t.idempotencyKey),
    index('actions_correlation_idx').on(t.correlationId),
    index('actions_agent_created_idx').on(t.agentId, t.createdAt),
    uniqueIndex('actions_rollback_of_uq').on(t.rollbackOf).where(sql`rollback_of is not null`),
    index('actions_task_idx').on(t.taskId).where(sql`task_id is not null`),
    index('actions_open_status_idx')
      .on(t.status, t.updatedAt)
      .where(sql`status in ('pending_approval', 'approved', 'queued', 'executing')`),
  ],
);

export type ActionRow = typeof actions.$inferSelect;
