import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { actions, type ActionRow } from '../db/schema';
import type { ExecutorConfig } from '../config/file-config';
import { appendEvents } from '../audit/append';
import { transitionAction } from '../approvals/transition';
import type { ExecutorOutcome } from '../executor/client';
import { callPrepare } from '../executor/prepare';
import { payloadHash } from '../intake/payload-hash';
import { newId } from '../lib/ids';
import { eventBase } from './event-base';

/** What asking the executor again at release came to. */
export type PlanCheck =
  | { kind: 'same' }
  /** The plan changed since it was approved: the action ends `plan_drift`, nothing runs. */
  | { kind: 'drift'; freshHash: string }
  /** The prepare step did not answer usably: recorded like an executor answer (retried, or failed). */
  | { kind: 'outcome'; outcome: ExecutorOutcome };

/**
 * Prepares a claimed action again right before its commit and compares plan hashes: what runs is what was
 * approved, or nothing runs. The body is the intake's prepare body (same payload hash), so a deterministic
 * executor answers the same plan for the same action.
 */
export async function checkPlan(executor: ExecutorConfig, row: ActionRow): Promise<PlanCheck> {
  if (!executor.prepare_url || !row.planHash) return { kind: 'same' };
  const started = performance.now();
  const latencyMs = () => Math.round((performance.now() - started) * 100) / 100;
  const fresh = await callPrepare(executor, {
    action_id: row.id,
    action_class: row.actionClass,
    params: row.params,
    payload_hash: payloadHash({ action_class: row.actionClass, params: row.params, context: row.context, executor: row.executor }),
    idempotency_key: row.id,
    agent_idempotency_key: row.idempotencyKey,
    correlation_id: row.correlationId,
  });
  switch (fresh.kind) {
    case 'prepared':
      return fresh.prepared.plan_hash === row.planHash ? { kind: 'same' } : { kind: 'drift', freshHash: fresh.prepared.plan_hash };
    case 'unavailable':
      return { kind: 'outcome', outcome: { kind: 'retriable', status: null, reason: `prepare at release: ${fresh.reason}`, latencyMs: latencyMs() } };
    case 'refused':
      return { kind: 'outcome', outcome: terminal(fresh.status, { prepare: fresh.body }, latencyMs()) };
    case 'malformed':
      return { kind: 'outcome', outcome: terminal(502, { prepare: fresh.reason }, latencyMs()) };
  }
}

/** A prepare refusal recorded like a terminal executor answer; its digest is of what is stored (already capped). */
function terminal(status: number, body: unknown, latencyMs: number): ExecutorOutcome {
  const text = JSON.stringify(body);
  return { kind: 'terminal', status, body, answer: { bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex'), truncated: false }, latencyMs };
}

/**
 * Ends a claimed action `plan_drift` (terminal), fenced by the claim's attempt like every record, with an
 * exception record that names both hashes. Returns false when the claim was taken over meanwhile.
 */
export async function recordPlanDrift(db: Db, row: ActionRow, freshHash: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const reason = `the executor's plan changed since it was approved (approved ${row.planHash}, now ${freshHash}); nothing was executed`;
    const failure = { code: 'plan-drift', reason, approved_plan_hash: row.planHash, fresh_plan_hash: freshHash, attempts: row.attempts };
    const ended = await transitionAction(tx, row.id, ['executing'], 'plan_drift', { failure, finishedAt: new Date(), leaseExpiresAt: null }, eq(actions.attempts, row.attempts));
    if (!ended) return false;
    const base = eventBase(row);
    await appendEvents(tx, [
      { ...base, type: 'commit.plan_drift', actor: 'system', data: { executor: row.executor, ...failure } },
      {
        ...base,
        type: 'exception_record',
        actor: 'system',
        data: {
          exception_id: newId('exception'),
          kind: 'plan_drift',
          detail: reason,
          mitigation: 'action ended as plan_drift without being executed; the agent may request it again for a fresh approval',
        },
      },
    ]);
    return true;
  });
}
