import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client';
import { jsonInsertSql } from '../db/json-insert';
import { actions, commitOutbox, type ActionRow } from '../db/schema';
import type { Agent } from '../auth/agents';
import type { AuditEventInput } from '../audit/append';
import type { Prepared } from '../executor/prepare';
import { Problem } from '../lib/errors';
import type { Decision } from '../policy';
import { receiptFields, type ReceiptFields, type ReceiptSigner } from '../receipts';
import { toActionView } from './action-view';
import type { StoredFacts } from './facts';
import type { Planned } from './plan-status';
import type { CreateActionRequest } from './schemas';

export type NewAction = typeof actions.$inferInsert;

/** Everything an action is recorded with, established by the steps before the write. */
export type ActionDraft = {
  id: string;
  agentId: string;
  req: CreateActionRequest;
  executor: string;
  requestHash: string;
  correlationId: string;
  /** The payload hash approvals bind to (covers the plan hash when prepared). */
  hash: string;
  planned: Planned;
  preview: unknown;
  facts: StoredFacts;
  prepared: Prepared | null;
  taskId: string | null;
  /** The standing grant that approves this request instead of a card (src/intake/grant-use.ts). */
  grantId?: string | null;
  /** Set when the action is a rollback filed with "Roll back" (src/rollback). */
  rollbackOf?: string | null;
};

/** The action row as first recorded; `approved` and `queued` rows carry their approval by policy. */
export function actionRow(a: ActionDraft): NewAction {
  const { req, planned } = a;
  const now = new Date();
  const approved = planned.status === 'approved' || planned.status === 'queued';
  return {
    id: a.id,
    agentId: a.agentId,
    actionClass: req.action_class,
    params: req.params,
    context: req.context,
    executor: a.executor,
    dryRun: req.dry_run,
    preview: a.preview,
    idempotencyKey: req.idempotency_key,
    requestHash: a.requestHash,
    correlationId: a.correlationId,
    justification: req.justification,
    onBehalfOf: req.on_behalf_of ?? null,
    taskId: a.taskId,
    facts: a.facts as unknown as Record<string, unknown>,
    prepared: a.prepared as unknown as Record<string, unknown> | null,
    planHash: a.prepared?.plan_hash ?? null,
    payloadHash: a.hash,
    status: planned.status,
    decision: planned.decision.decision,
    ruleId: planned.decision.rule_id,
    reasoning: planned.decision.reasoning,
    policyVersion: planned.decision.policy_version,
    escalation: planned.decision.escalation as Record<string, unknown> | null,
    approverGroup: planned.decision.escalation?.via ?? null,
    approvalsRequired: planned.decision.escalation?.approvals ?? 0,
    expiresAt:
      planned.status === 'pending_approval' && planned.decision.escalation
        ? new Date(now.getTime() + planned.decision.escalation.timeout_seconds * 1000)
        : null,
    approvedAt: approved ? now : null,
    approvedPayloadHash: approved ? a.hash : null,
    grantId: a.grantId ?? null,
    rollbackOf: a.rollbackOf ?? null,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * The first response, with its signed receipt, stored on the row: a replay returns the very same bytes,
 * receipt included.
 */
export async function signedResponse(
  db: Db,
  receipts: ReceiptSigner | undefined,
  row: NewAction,
  /** Who approved it at creation when not the policy (a standing grant's humans). */
  approvedBy?: string[],
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = storedResponse(row);
  if (receipts) response.body.receipt = await receipts.sign(await creationReceiptFields(db, row, approvedBy));
  return response;
}

/**
 * The first response without its receipt, stored on the row. The allow path's writer signs the receipts of a
 * batch together and puts each in its body before the batch is written (src/intake/batch-writer.ts).
 */
export function storedResponse(row: NewAction, created: ActionRow = asCreated(row)): { status: number; body: Record<string, unknown> } {
  const response = responseFor(created);
  row.responseStatus = response.status;
  row.responseBody = response.body;
  return response;
}

/** What the receipt of a new action states. */
export function creationReceiptFields(db: Db, row: NewAction, approvedBy?: string[], created: ActionRow = asCreated(row)): Promise<ReceiptFields> {
  const approvers = row.approvedAt ? (approvedBy ?? ['policy']) : [];
  return receiptFields(db, created, approvers);
}

/** The row as it reads once inserted (what the response and the receipt describe; the receipt never states a preview). */
export function asCreated(row: NewAction): ActionRow {
  return { ...row, preview: row.preview ?? null, result: null, failure: null, edited: null } as ActionRow;
}

function responseFor(row: ActionRow): { status: number; body: Record<string, unknown> } {
  const view = toActionView(row);
  if (row.status === 'denied') {
    const conflicts = (row.facts as { claim_conflicts?: unknown } | null)?.claim_conflicts;
    const problem = new Problem('policy-denied', row.reasoning, {
      extensions: {
        action_id: row.id,
        action_status: row.status,
        decision: view.decision,
        payload_hash: row.payloadHash,
        correlation_id: row.correlationId,
        ...(conflicts ? { claim_conflicts: conflicts } : {}),
      },
    });
    return { status: problem.status, body: problem.toJSON(`/v1/actions/${row.id}`) };
  }
  return { status: 201, body: view as unknown as Record<string, unknown> };
}

/**
 * The action row, and for an approved one its commit intent (outbox row), in one statement: one round trip
 * fewer on the allow path. The row travels as one JSON parameter (src/db/json-insert.ts). Nothing is
 * written when the idempotency key is taken (no row returned): the outbox insert reads only what was created.
 */
export function insertActionSql(row: NewAction): SQL {
  const insert = jsonInsertSql(actions, [row], sql`on conflict do nothing returning id`);
  if (row.status !== 'approved') return insert;
  return sql`with created as (${insert}), queued as (insert into ${commitOutbox} (${sql.identifier(commitOutbox.actionId.name)}) select id from created) select id from created`;
}

export function evidenceForCreation(row: NewAction, agent: Agent, req: CreateActionRequest, decision: Decision, prepared: Prepared | null): AuditEventInput[] {
  const base = { actionId: row.id, correlationId: row.correlationId, agentId: row.agentId, policyVersion: decision.policy_version };
  const events: AuditEventInput[] = [
    {
      ...base,
      type: 'action.requested',
      actor: `agent:${agent.id}`,
      data: {
        agent_name: agent.name,
        agent_owner: agent.owner,
        on_behalf_of: req.on_behalf_of ?? null,
        task_id: row.taskId ?? null,
        action_class: req.action_class,
        params: req.params,
        // What the agent says about it: recorded as its claim, never read by a condition.
        context: req.context,
        dry_run: req.dry_run,
        idempotency_key: req.idempotency_key,
        justification: req.justification,
        executor: row.executor,
        payload_hash: row.payloadHash,
        ...(row.rollbackOf ? { rollback_of: row.rollbackOf } : {}),
      },
    },
  ];
  if (prepared) {
    events.push({
      ...base,
      type: 'action.prepared',
      actor: 'system',
      data: { executor: prepared.executor, facts: prepared.facts, preview: prepared.preview ?? null, plan: prepared.plan, plan_hash: prepared.plan_hash },
    });
  }
  events.push({
    ...base,
    type: 'policy.decided',
    actor: 'system',
    data: {
      decision: decision.decision,
      rule_id: decision.rule_id,
      reasoning: decision.reasoning,
      escalation: decision.escalation,
      // The facts it read besides params, by source; a contradicted claim is listed as such.
      facts: row.facts,
      ...(decision.claim_conflicts ? { claim_conflicts: decision.claim_conflicts } : {}),
      // What the decision made of it (an allowed action is recorded `queued` with commit.queued next; one a
      // standing grant approves was escalated, and its approval follows as its own event).
      status: row.grantId ? 'pending_approval' : row.status === 'queued' ? 'approved' : row.status,
    },
  });
  if (row.approvedAt && !row.grantId) {
    events.push({
      ...base,
      type: 'action.approved',
      actor: 'system',
      data: { by: 'policy', rule_id: decision.rule_id, payload_hash: row.payloadHash, ...(row.planHash ? { plan_hash: row.planHash } : {}) },
    });
  }
  // Recorded queued at once (the allow path): the hand-over to the queue is part of the same write.
  if (row.status === 'queued') events.push({ ...base, type: 'commit.queued', actor: 'system', data: { executor: row.executor } });
  return events;
}
