import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { execRows } from '../db/exec';
import { actions, type ActionRow } from '../db/schema';
import { appendEvents } from '../audit/append';
import { transitionAction } from '../approvals/transition';
import { findExecutor } from '../executor/registry';
import { callExecutor, type ExecutorRequest } from '../executor/client';
import type { ReleaseGate } from './gate';
import { MAX_INLINE_SLOT_WAIT_MS, type ReleaseDeps, type ReleaseHooks, type ReleaseOutcome } from './types';
import { eventBase } from './event-base';
import { checkPlan, recordPlanDrift } from './plan-check';
import { claimInBatch, recordInBatch } from './writer';


/**
 * Releases one approved action to its executor, exactly once in effect:
 * claim (conditional update with a lease) → re-check → take a release slot → call → record (fenced by the
 * claim's attempt number). The executor gets the action id as idempotency key, so a call repeated after a
 * crash between call and record cannot double the effect. The claims and records of concurrent jobs are
 * written together (writer.ts).
 */
export async function releaseCommit(deps: ReleaseDeps, actionId: string, hooks: ReleaseHooks = {}): Promise<ReleaseOutcome> {
  if (deps.releaseGate && deps.config.executors.some((e) => e.rate_limit)) {
    // Look before claiming, so throttled jobs cost no database write.
    const early = await peekBeforeClaim(deps, deps.releaseGate, actionId);
    if (early) return early;
  }
  const claimedAt = Date.now();
  const claim = await claimInBatch({ deps, actionId });
  if (claim.kind === 'not-claimed') return claim.outcome;
  const { row, verdict } = claim;
  if (verdict.kind === 'reapprove') {
    deps.requestApproval?.(actionId);
    return { kind: 'sent_back' };
  }
  if (verdict.kind !== 'release') {
    const stopped = verdict.kind === 'cancel' ? 'cancelled' : 'refused';
    announce(deps, row, stopped);
    return { kind: stopped };
  }
  const executor = findExecutor(deps.config, row.executor!);
  if (!executor) return { kind: 'skipped', reason: 'executor vanished' }; // recheck refuses these; unreachable

  // What runs is what was approved: the executor prepares again and its plan must hash the same.
  const plan = await checkPlan(executor, row);
  if (plan.kind === 'drift') {
    if (!(await recordPlanDrift(deps.db, row, plan.freshHash))) return { kind: 'skipped', reason: 'claim taken over' };
    announce(deps, row, 'plan_drift');
    return { kind: 'plan_drift' };
  }
  if (plan.kind === 'outcome') {
    const result = await recordInBatch(deps.db, { row, outcome: plan.outcome, maxAttempts: executor.max_attempts });
    if (result.kind !== 'retry' && result.kind !== 'skipped') announce(deps, row, result.kind);
    return result;
  }

  if (deps.releaseGate) {
    // The slot is taken right before the call, so the limit holds where the executor feels it. Several
    // workers may have peeked at the same free slot: the losers wait briefly, or give the claim back.
    const slotWaitMs = executor.rate_limit ? MAX_INLINE_SLOT_WAIT_MS : 0;
    for (;;) {
      const delayMs = await deps.releaseGate(executor.name, 'take');
      if (delayMs === 0) break;
      if (Date.now() - claimedAt + delayMs > slotWaitMs) {
        await unclaim(deps.db, row, delayMs);
        return { kind: 'throttled', delayMs: spread(delayMs, executor.rate_limit) };
      }
      await new Promise((r) => setTimeout(r, delayMs + Math.random() * 20));
    }
  }

  const outcome = await callExecutor(executor, executorRequest(row));
  deps.onExecutorCall?.(executor.name, outcome);
  hooks.called?.(outcome);
  const result = await recordInBatch(deps.db, { row, outcome, maxAttempts: executor.max_attempts });
  if (result.kind !== 'retry' && result.kind !== 'skipped') announce(deps, row, result.kind);
  return result;
}

/** The executor's request for a claimed action: the action id is its idempotency key. */
export function executorRequest(row: ActionRow): ExecutorRequest {
  return {
    action_id: row.id,
    action_class: row.actionClass,
    params: row.params,
    payload_hash: row.payloadHash,
    idempotency_key: row.id,
    agent_idempotency_key: row.idempotencyKey,
    correlation_id: row.correlationId,
    dry_run: false,
    ...(row.planHash ? { plan_hash: row.planHash } : {}),
  };
}

/**
 * With a release rate limit: the action's state and executor, read before claiming, so a job over the
 * limit is parked without a database write. Answers the job's outcome when it should not be claimed now.
 */
async function peekBeforeClaim(deps: ReleaseDeps, gate: ReleaseGate, actionId: string): Promise<ReleaseOutcome | null> {
  const [current] = await execRows<{ status: string; executor: string | null; lease_left_ms: number | string | null }>(
    deps.db,
    sql`select status, executor, (extract(epoch from lease_expires_at - now()) * 1000)::float8 as lease_left_ms from actions where id = ${actionId}`,
  );
  if (!current) return { kind: 'skipped', reason: 'no such action' };
  if (!['approved', 'queued', 'executing'].includes(current.status)) return { kind: 'skipped', reason: `action is ${current.status}` };
  const leaseLeftMs = current.lease_left_ms === null ? null : Number(current.lease_left_ms);
  if (current.status === 'executing' && leaseLeftMs !== null && leaseLeftMs > 0) return { kind: 'leased', delayMs: Math.ceil(leaseLeftMs) + 250 };
  const executor = current.executor ? findExecutor(deps.config, current.executor) : null;
  if (!executor) return null;
  const delayMs = await gate(executor.name, 'peek');
  return delayMs > 0 ? { kind: 'throttled', delayMs: spread(delayMs, executor.rate_limit) } : null;
}

/**
 * Tells the approvers' Slack thread how it ended (card queue `outcome` job). An action approved by policy has
 * no card and never gets one (a send-back makes it `escalate` first): its commit has no thread to tell, so
 * no card job is queued for it — the most common release does not pay for a job that would do nothing.
 * Failures, refusals and cancellations are always announced, as before.
 */
function announce(deps: ReleaseDeps, row: ActionRow, outcome: ReleaseOutcome['kind']): void {
  if (outcome === 'committed' && !row.slackTs && row.decision === 'allow') return;
  deps.announce?.(row.id);
}

/** Gives a claim back without using an attempt (no rate-limit slot in time); fenced like every record. */
async function unclaim(db: Db, row: ActionRow, delayMs: number): Promise<void> {
  await db.transaction(async (tx) => {
    const back = await transitionAction(tx, row.id, ['executing'], 'queued', { attempts: row.attempts - 1, leaseExpiresAt: null }, eq(actions.attempts, row.attempts));
    if (!back) return;
    await appendEvents(tx, [{ ...eventBase(row), type: 'commit.throttled', actor: 'system', data: { executor: row.executor, retry_in_ms: delayMs, attempt: row.attempts } }]);
  });
}

/** Parked jobs wake spread over one slot's width, so a herd of them does not all retry the same instant. */
function spread(delayMs: number, limit: { max: number; per_seconds: number } | undefined): number {
  const slotMs = limit ? (limit.per_seconds * 1000) / limit.max : 0;
  return Math.ceil(delayMs + Math.random() * slotMs);
}
