import { eq } from 'drizzle-orm';
import { actions, type ActionRow } from '../db/schema';
import { appendEvents } from '../audit/append';
import { transitionAction } from '../approvals/transition';
import type { ExecutorOutcome } from '../executor/client';
import { newId } from '../lib/ids';
import type { ReleaseDeps, ReleaseOutcome } from './release';

export function eventBase(row: ActionRow) {
  return { actionId: row.id, correlationId: row.correlationId, agentId: row.agentId, policyVersion: row.policyVersion };
}

/**
 * Records what the executor answered: `committed` only on 2xx; 4xx or retries exhausted → `failed` with an
 * exception_record; otherwise back to `queued` for a retry. Every write is fenced by the claim's attempt
 * number: a worker whose lease was taken over records nothing.
 */
export async function recordOutcome(
  deps: Pick<ReleaseDeps, 'db'>,
  row: ActionRow,
  outcome: ExecutorOutcome,
  maxAttempts: number,
): Promise<ReleaseOutcome> {
  const fence = eq(actions.attempts, row.attempts);
  const lost = { kind: 'skipped', reason: 'the lease was taken over while the executor ran' } as const;
  return deps.db.transaction(async (tx) => {
    const base = eventBase(row);
    if (outcome.kind === 'success') {
      const done = await transitionAction(tx, row.id, ['executing'], 'committed', { result: outcome.body, finishedAt: new Date(), leaseExpiresAt: null }, fence);
      if (!done) return lost;
      await appendEvents(tx, [
        {
          ...base,
          type: 'commit.succeeded',
          actor: 'system',
          data: { executor: row.executor, status: outcome.status, result: outcome.body, latency_ms: outcome.latencyMs, attempt: row.attempts },
        },
      ]);
      return { kind: 'committed' } as const;
    }
    const exhausted = outcome.kind === 'retriable' && row.attempts >= maxAttempts;
    if (outcome.kind === 'terminal' || exhausted) {
      const failure =
        outcome.kind === 'terminal'
          ? { code: 'executor-rejected', reason: `executor answered ${outcome.status}`, status: outcome.status, body: outcome.body, attempts: row.attempts }
          : { code: 'retries-exhausted', reason: `retries exhausted after ${row.attempts} attempts: ${outcome.reason}`, status: outcome.status, attempts: row.attempts };
      const done = await transitionAction(tx, row.id, ['executing'], 'failed', { failure, finishedAt: new Date(), leaseExpiresAt: null }, fence);
      if (!done) return lost;
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
    const back = await transitionAction(tx, row.id, ['executing'], 'queued', { leaseExpiresAt: null }, fence);
    if (!back) return lost;
    await appendEvents(tx, [
      {
        ...base,
        type: 'commit.retry',
        actor: 'system',
        data: { executor: row.executor, reason: outcome.reason, status: outcome.status, attempt: row.attempts, max_attempts: maxAttempts },
      },
    ]);
    return { kind: 'retry', reason: outcome.reason, attempts: row.attempts } as const;
  });
}
