import { and, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { actions, agents, type ActionRow } from '../db/schema';
import type { FileConfig } from '../config/file-config';
import { appendEvents } from '../audit/append';
import { transitionAction } from '../approvals/transition';
import { findExecutor } from '../executor/registry';
import { callExecutor, type ExecutorOutcome } from '../executor/client';
import { payloadHash } from '../intake/payload-hash';
import { newId } from '../lib/ids';
import type { PolicyBundle } from '../policy';

export type ReleaseDeps = {
  db: Db;
  config: FileConfig;
  policy: { current(): PolicyBundle };
  /** Tells people about the outcome (Slack thread); fire-and-forget, retried by its own queue. */
  announce?(actionId: string): void;
  /** Optional gate on the executor's release rate; resolves to a delay in ms when over the limit. */
  releaseGate?(executor: string): Promise<number>;
  /** Told about every executor call (metrics: results and latency). */
  onExecutorCall?(executor: string, outcome: ExecutorOutcome): void;
};

export type ReleaseOutcome =
  | { kind: 'committed' | 'failed' | 'refused' }
  | { kind: 'skipped'; reason: string }
  | { kind: 'retry'; reason: string; attempts: number }
  | { kind: 'throttled'; delayMs: number };

const DEFAULT_RELEASE_WINDOW_SECONDS = 3600;
const LEASE_GRACE_MS = 30_000;

/**
 * Releases one approved action to its executor, exactly once in effect:
 * claim (conditional update with a lease) → re-check → call → record. The executor gets the action id as
 * idempotency key, so a retry after a crash between call and record cannot double the effect.
 */
export async function releaseCommit(deps: ReleaseDeps, actionId: string): Promise<ReleaseOutcome> {
  const { db } = deps;
  const [current] = await db.select().from(actions).where(eq(actions.id, actionId)).limit(1);
  if (!current) return { kind: 'skipped', reason: 'no such action' };
  if (!['approved', 'queued', 'executing'].includes(current.status)) return { kind: 'skipped', reason: `action is ${current.status}` };
  const executor = current.executor ? findExecutor(deps.config, current.executor) : null;

  if (executor && deps.releaseGate) {
    const delayMs = await deps.releaseGate(executor.name);
    if (delayMs > 0) return { kind: 'throttled', delayMs };
  }

  const leaseMs = (executor?.timeout_ms ?? 10_000) + LEASE_GRACE_MS;
  const claimed = await db.transaction(async (tx) => {
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
    if (!row) return null;
    const refusal = await recheck(deps, tx as unknown as Db, row);
    if (refusal) {
      await transitionAction(tx, row.id, ['executing'], 'refused', { failure: { reason: refusal }, finishedAt: new Date(), leaseExpiresAt: null });
      await appendEvents(tx, [
        { ...eventBase(row), type: 'commit.refused', actor: 'system', data: { reason: refusal, attempt: row.attempts } },
      ]);
      return { row, refusal };
    }
    await appendEvents(tx, [
      { ...eventBase(row), type: 'commit.started', actor: 'system', data: { executor: row.executor, attempt: row.attempts, payload_hash: row.payloadHash } },
    ]);
    return { row, refusal: null };
  });
  if (!claimed) return { kind: 'skipped', reason: 'claimed by another worker or already finished' };
  if (claimed.refusal) {
    deps.announce?.(actionId);
    return { kind: 'refused' };
  }
  const row = claimed.row;
  if (!executor) {
    // recheck() refuses actions without an executor; this is unreachable unless config changed mid-flight.
    return { kind: 'skipped', reason: 'executor vanished' };
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
  const result = await recordOutcome(db, row, outcome, executor.max_attempts);
  if (result.kind !== 'retry') deps.announce?.(actionId);
  return result;
}

/** The checks made again at release time; returns the reason to refuse, or null. */
async function recheck(deps: ReleaseDeps, tx: Db, row: ActionRow): Promise<string | null> {
  if (!row.executor || !findExecutor(deps.config, row.executor)) return `executor "${row.executor}" is not configured`;
  const hash = payloadHash({ action_class: row.actionClass, params: row.params, context: row.context, executor: row.executor });
  if (hash !== row.payloadHash || row.approvedPayloadHash !== row.payloadHash) {
    return 'stored payload no longer hashes to the approved payload hash';
  }
  const [agent] = await tx.select({ status: agents.status }).from(agents).where(eq(agents.id, row.agentId)).limit(1);
  if (!agent || agent.status !== 'active') return 'agent is suspended (kill switch)';
  const windowSeconds = Number((row.escalation as { release_window_seconds?: number } | null)?.release_window_seconds ?? DEFAULT_RELEASE_WINDOW_SECONDS);
  if (row.approvedAt && Date.now() - row.approvedAt.getTime() > windowSeconds * 1000) {
    return `approval is older than its ${windowSeconds} s release window`;
  }
  const now = deps.policy.current().evaluate({ action_class: row.actionClass, context: row.context, params: row.params });
  if (now.decision === 'deny') return `policy ${now.policy_version} now denies it (${now.rule_id ?? 'no rule matched'}): ${now.reasoning}`;
  return null;
}

async function recordOutcome(db: Db, row: ActionRow, outcome: ExecutorOutcome, maxAttempts: number): Promise<ReleaseOutcome> {
  return db.transaction(async (tx) => {
    const base = eventBase(row);
    if (outcome.kind === 'success') {
      const done = await transitionAction(tx, row.id, ['executing'], 'committed', {
        result: outcome.body,
        finishedAt: new Date(),
        leaseExpiresAt: null,
      });
      if (!done) return { kind: 'skipped', reason: 'action left executing while the executor ran' } as const;
      await appendEvents(tx, [
        { ...base, type: 'commit.succeeded', actor: 'system', data: { executor: row.executor, status: outcome.status, result: outcome.body, latency_ms: outcome.latencyMs, attempt: row.attempts } },
      ]);
      return { kind: 'committed' } as const;
    }
    const exhausted = outcome.kind === 'retriable' && row.attempts >= maxAttempts;
    if (outcome.kind === 'terminal' || exhausted) {
      const failure =
        outcome.kind === 'terminal'
          ? { reason: `executor answered ${outcome.status}`, status: outcome.status, body: outcome.body, attempts: row.attempts }
          : { reason: `retries exhausted: ${outcome.reason}`, status: outcome.status, attempts: row.attempts };
      const done = await transitionAction(tx, row.id, ['executing'], 'failed', { failure, finishedAt: new Date(), leaseExpiresAt: null });
      if (!done) return { kind: 'skipped', reason: 'action left executing while the executor ran' } as const;
      await appendEvents(tx, [
        { ...base, type: 'commit.failed', actor: 'system', data: { executor: row.executor, ...failure, latency_ms: outcome.latencyMs } },
        {
          ...base,
          type: 'exception_record',
          actor: 'system',
          data: {
            exception_id: newId('exception'),
            kind: outcome.kind === 'terminal' ? 'executor_rejected' : 'retries_exhausted',
            detail: failure.reason,
            mitigation: 'action ended as failed; nothing further is released; the approver thread was notified',
          },
        },
      ]);
      return { kind: 'failed' } as const;
    }
    const back = await transitionAction(tx, row.id, ['executing'], 'queued', { leaseExpiresAt: null });
    if (!back) return { kind: 'skipped', reason: 'action left executing while the executor ran' } as const;
    await appendEvents(tx, [
      { ...base, type: 'commit.retry', actor: 'system', data: { executor: row.executor, reason: outcome.reason, status: outcome.status, attempt: row.attempts, max_attempts: maxAttempts } },
    ]);
    return { kind: 'retry', reason: outcome.reason, attempts: row.attempts } as const;
  });
}

function eventBase(row: ActionRow) {
  return { actionId: row.id, correlationId: row.correlationId, agentId: row.agentId, policyVersion: row.policyVersion };
}
