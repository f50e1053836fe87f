import { and, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/client';
import { actions, commitOutbox, type ActionRow } from '../db/schema';
import type { FileConfig } from '../config/file-config';
import { appendEvents } from '../audit/append';
import { toolSurface } from '../audit/tool-surface';
import { transitionAction } from '../approvals/transition';
import { findExecutor } from '../executor/registry';
import { callExecutor, type ExecutorOutcome } from '../executor/client';
import type { PolicyBundle } from '../policy';
import type { ReleaseGate } from './release-gate';
import { recheckRelease, type RecheckVerdict, type ReleaseControls } from './release-recheck';
import { eventBase, recordOutcome } from './release-outcome';

export type ReleaseDeps = {
  db: Db;
  config: FileConfig;
  policy: { current(): PolicyBundle };
  /** Tells people about the outcome (Slack thread); fire-and-forget, retried by its own queue. */
  announce?(actionId: string): void;
  /** Posts a fresh approval card for an action sent back to `pending_approval`. */
  requestApproval?(actionId: string): void;
  /** The executor's release rate limit (release-gate.ts); resolves to a delay in ms when over the limit. */
  releaseGate?: ReleaseGate;
  /** Budgets and kill switch owned by other features, asked again at release. */
  controls?: ReleaseControls;
  /** How long a claim outlives the executor timeout before another worker may take the action over. */
  leaseGraceMs?: number;
  /** Told about every executor call (metrics: results and latency). */
  onExecutorCall?(executor: string, outcome: ExecutorOutcome): void;
};

export type ReleaseOutcome =
  | { kind: 'committed' | 'failed' | 'refused' | 'cancelled' | 'sent_back' }
  | { kind: 'skipped'; reason: string }
  | { kind: 'retry'; reason: string; attempts: number }
  /** Over the executor's release rate: look again after `delayMs`, without using an attempt. */
  | { kind: 'throttled'; delayMs: number }
  /** Another worker holds a live lease: look again when it runs out (that worker may have died). */
  | { kind: 'leased'; delayMs: number };

export const DEFAULT_LEASE_GRACE_MS = 30_000;

/** Longest a claimed release waits in the worker for a rate-limit slot before it gives the claim back. */
const MAX_INLINE_SLOT_WAIT_MS = 2_000;

/**
 * Releases one approved action to its executor, exactly once in effect:
 * claim (conditional update with a lease) → re-check → take a release slot → call → record (fenced by the
 * claim's attempt number). The executor gets the action id as idempotency key, so a call repeated after a
 * crash between call and record cannot double the effect.
 */
export async function releaseCommit(deps: ReleaseDeps, actionId: string): Promise<ReleaseOutcome> {
  const { db } = deps;
  const [current] = await db.select().from(actions).where(eq(actions.id, actionId)).limit(1);
  if (!current) return { kind: 'skipped', reason: 'no such action' };
  if (!['approved', 'queued', 'executing'].includes(current.status)) return { kind: 'skipped', reason: `action is ${current.status}` };
  if (current.status === 'executing' && current.leaseExpiresAt && current.leaseExpiresAt.getTime() > Date.now()) {
    return { kind: 'leased', delayMs: current.leaseExpiresAt.getTime() - Date.now() + 250 };
  }
  const executor = current.executor ? findExecutor(deps.config, current.executor) : null;
  if (executor && deps.releaseGate) {
    // Look before claiming, so throttled jobs cost no database write.
    const delayMs = await deps.releaseGate(executor.name, 'peek');
    if (delayMs > 0) return { kind: 'throttled', delayMs: spread(delayMs, executor.rate_limit) };
  }

  // The lease covers the executor call, and a short wait for a rate-limit slot when the executor has a limit.
  const slotWaitMs = executor?.rate_limit && deps.releaseGate ? MAX_INLINE_SLOT_WAIT_MS : 0;
  const leaseMs = (executor?.timeout_ms ?? 10_000) + (deps.leaseGraceMs ?? DEFAULT_LEASE_GRACE_MS) + slotWaitMs;
  const claimedAt = Date.now();
  const claimed = await db.transaction(async (tx) => {
    const row = await claim(tx, actionId, leaseMs);
    if (!row) return null;
    const verdict = await recheckRelease(deps, tx, row);
    if (verdict.kind !== 'release') {
      await stop(deps, tx, row, verdict);
      return { row, verdict };
    }
    await appendEvents(tx, [
      {
        ...eventBase(row),
        type: 'commit.started',
        actor: 'system',
        data: { executor: row.executor, attempt: row.attempts, payload_hash: row.payloadHash, lease_taken_over: current.status === 'executing', tool: toolSurface(executor, row) },
      },
    ]);
    return { row, verdict };
  });
  if (!claimed) return { kind: 'skipped', reason: 'claimed by another worker or already finished' };
  const { row, verdict } = claimed;
  if (verdict.kind === 'reapprove') {
    deps.requestApproval?.(actionId);
    return { kind: 'sent_back' };
  }
  if (verdict.kind !== 'release') {
    deps.announce?.(actionId);
    return { kind: verdict.kind === 'cancel' ? 'cancelled' : 'refused' };
  }
  if (!executor) return { kind: 'skipped', reason: 'executor vanished' }; // recheck refuses these; unreachable

  if (deps.releaseGate) {
    // The slot is taken right before the call, so the limit holds where the executor feels it. Several
    // workers may have peeked at the same free slot: the losers wait briefly, or give the claim back.
    for (;;) {
      const delayMs = await deps.releaseGate(executor.name, 'take');
      if (delayMs === 0) break;
      if (Date.now() - claimedAt + delayMs > slotWaitMs) {
        await unclaim(db, row, delayMs);
        return { kind: 'throttled', delayMs: spread(delayMs, executor.rate_limit) };
      }
      await new Promise((r) => setTimeout(r, delayMs + Math.random() * 20));
    }
  }

  const outcome = await callExecutor(executor, {
    action_id: row.id,
    action_class: row.actionClass,
    params: row.params,
    payload_hash: row.payloadHash,
    idempotency_key: row.id,
    agent_idempotency_key: row.idempotencyKey,
    correlation_id: row.correlationId,
    dry_run: false,
  });
  deps.onExecutorCall?.(executor.name, outcome);
  const result = await recordOutcome(deps, row, outcome, executor.max_attempts);
  if (result.kind !== 'retry' && result.kind !== 'skipped') deps.announce?.(actionId);
  return result;
}

/** approved/queued, or executing with a lease that ran out (its worker died) → executing with a new lease. */
async function claim(tx: Tx, actionId: string, leaseMs: number): Promise<ActionRow | null> {
  const [row] = await tx
    .update(actions)
    .set({
      status: 'executing',
      attempts: sql`${actions.attempts} + 1`,
      leaseExpiresAt: sql`now() + ${`${leaseMs} milliseconds`}::interval`,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(actions.id, actionId),
        or(inArray(actions.status, ['approved', 'queued']), and(eq(actions.status, 'executing'), lt(actions.leaseExpiresAt, sql`now()`))),
      ),
    )
    .returning();
  return row ?? null;
}

/** Gives a claim back without using an attempt (no rate-limit slot in time); fenced like every record. */
async function unclaim(db: Db, row: ActionRow, delayMs: number): Promise<void> {
  await db.transaction(async (tx) => {
    const back = await transitionAction(tx, row.id, ['executing'], 'queued', { attempts: row.attempts - 1, leaseExpiresAt: null }, eq(actions.attempts, row.attempts));
    if (!back) return;
    await appendEvents(tx, [{ ...eventBase(row), type: 'commit.throttled', actor: 'system', data: { executor: row.executor, retry_in_ms: delayMs, attempt: row.attempts } }]);
  });
}

/** Ends a claim the re-check refused: refused, cancelled, or sent back for a new approval. */
async function stop(deps: ReleaseDeps, tx: Tx, row: ActionRow, verdict: Exclude<RecheckVerdict, { kind: 'release' }>): Promise<void> {
  const base = eventBase(row);
  if (verdict.kind === 'reapprove') {
    const esc = verdict.decision.escalation!;
    await transitionAction(tx, row.id, ['executing'], 'pending_approval', {
      decision: 'escalate',
      ruleId: verdict.decision.rule_id,
      reasoning: verdict.decision.reasoning,
      policyVersion: verdict.decision.policy_version,
      escalation: esc as unknown as Record<string, unknown>,
      approverGroup: esc.via,
      approvalsRequired: esc.approvals,
      expiresAt: new Date(Date.now() + esc.timeout_seconds * 1000),
      approvedAt: null,
      approvedPayloadHash: null,
      leaseExpiresAt: null,
    });
    // The old commit intent is spent; the new approval writes a new one.
    await tx.delete(commitOutbox).where(eq(commitOutbox.actionId, row.id));
    await appendEvents(tx, [
      {
        ...base,
        policyVersion: verdict.decision.policy_version,
        type: 'commit.sent_back',
        actor: 'system',
        data: { reason: verdict.reason, rule_id: verdict.decision.rule_id, via: esc.via, approvals: esc.approvals, attempt: row.attempts },
      },
    ]);
    return;
  }
  const to = verdict.kind === 'cancel' ? 'cancelled' : 'refused';
  await transitionAction(tx, row.id, ['executing'], to, {
    failure: { code: verdict.code, reason: verdict.reason },
    finishedAt: new Date(),
    leaseExpiresAt: null,
  });
  await appendEvents(tx, [
    { ...base, type: to === 'cancelled' ? 'commit.cancelled' : 'commit.refused', actor: 'system', data: { code: verdict.code, reason: verdict.reason, attempt: row.attempts } },
  ]);
}

/** Parked jobs wake spread over one slot's width, so a herd of them does not all retry the same instant. */
function spread(delayMs: number, limit: { max: number; per_seconds: number } | undefined): number {
  const slotMs = limit ? (limit.per_seconds * 1000) / limit.max : 0;
  return Math.ceil(delayMs + Math.random() * slotMs);
}
