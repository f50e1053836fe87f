import type { ActionRow } from '../db/schema';
import type { AuditEventInput } from '../audit/append';
import { settlementOf } from '../controls/budgets';
import type { ExecutorOutcome } from '../executor/client';
import { newId } from '../lib/ids';
import { eventBase } from './event-base';
import type { ReleaseOutcome } from './types';

/** What the executor answered for one claimed action (`row` as claimed: its attempt is the fence). */
export type OutcomeRecord = { row: ActionRow; outcome: ExecutorOutcome; maxAttempts: number };

/** What one outcome does: the state it moves to, the columns it sets, its evidence and its answer. */
export type Plan = {
  status: 'committed' | 'failed' | 'queued';
  result?: unknown;
  failure?: Record<string, unknown>;
  finishedAt?: Date;
  events: AuditEventInput[];
  answer: ReleaseOutcome;
};

function plan({ row, outcome, maxAttempts }: OutcomeRecord): Plan {
  const base = eventBase(row);
  if (outcome.kind === 'success') {
    return {
      status: 'committed',
      result: outcome.body,
      finishedAt: new Date(),
      events: [
        {
          ...base,
          type: 'commit.succeeded',
          actor: 'system',
          data: { executor: row.executor, status: outcome.status, result: outcome.body, answer: outcome.answer, latency_ms: outcome.latencyMs, attempt: row.attempts },
        },
      ],
      answer: { kind: 'committed' },
    };
  }
  const exhausted = outcome.kind === 'retriable' && row.attempts >= maxAttempts;
  if (outcome.kind === 'terminal' || exhausted) {
    const failure =
      outcome.kind === 'terminal'
        ? { code: 'executor-rejected', reason: `executor answered ${outcome.status}`, status: outcome.status, body: outcome.body, answer: outcome.answer, attempts: row.attempts }
        : { code: 'retries-exhausted', reason: `retries exhausted after ${row.attempts} attempts: ${outcome.reason}`, status: outcome.status, attempts: row.attempts };
    return {
      status: 'failed',
      failure,
      finishedAt: new Date(),
      events: [
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
      ],
      answer: { kind: 'failed' },
    };
  }
  return {
    status: 'queued',
    events: [
      {
        ...base,
        type: 'commit.retry',
        actor: 'system',
        data: { executor: row.executor, reason: outcome.reason, status: outcome.status, attempt: row.attempts, max_attempts: maxAttempts },
      },
    ],
    answer: { kind: 'retry', reason: outcome.reason, attempts: row.attempts },
  };
}

/** The answer to a record whose transition did not happen: another worker took the lease over. */
export const LOST = { kind: 'skipped', reason: 'the lease was taken over while the executor ran' } as const;

/**
 * What release_write (drizzle/0016) is given for each record — the transition, fenced by the claim's attempt,
 * and how it settles the action's budget reservations — and each record's plan (state, columns, evidence, answer).
 */
export function recordParams(records: OutcomeRecord[]): { values: unknown[]; plans: Plan[] } {
  const plans = records.map(plan);
  const values = records.map((r, i) => {
    const p = plans[i]!;
    return {
      id: r.row.id,
      attempts: r.row.attempts,
      status: p.status,
      result: p.result ?? null,
      failure: p.failure ?? null,
      finished_at: p.finishedAt?.toISOString() ?? null,
      settle: settlementOf(p.status),
    };
  });
  return { values, plans };
}
