import type { Tx } from '../db/client';
import type { NamedStatement } from '../db/exec-named';
import type { ActionRow } from '../db/schema';
import type { AuditEventInput } from '../audit/append';
import { settleCounters, settlementOf, type SettledReservation } from '../controls/budgets';
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

/**
 * Every transition of the batch in one conditional update (`executing` with the claim's attempt), which
 * also marks the budget reservations of the actions it ended as settled (what settleBudgets does for
 * transitionAction); the counters follow in settleCounters.
 */
export const RECORD: NamedStatement = {
  name: 'release_record_outcomes',
  text: `
        with v as (
          select * from jsonb_to_recordset($1::jsonb)
            as v(id text, attempts int, status text, result jsonb, failure jsonb, finished_at timestamptz, settle text)
        ), moved as (
          update actions a set
            status = v.status,
            result = case when v.status = 'committed' then v.result else a.result end,
            failure = case when v.status = 'failed' then v.failure else a.failure end,
            finished_at = case when v.finished_at is not null then v.finished_at else a.finished_at end,
            lease_expires_at = null,
            updated_at = now()
          from v
          -- Found by id (= any(array…)): an index lookup, however many actions there are.
          where a.id = any(array(select id from v)) and a.id = v.id and a.status = 'executing' and a.attempts = v.attempts
          returning a.id, v.attempts, v.settle
        ), settled as (
          update budget_reservations r set state = m.settle, settled_at = now()
          from moved m
          where r.action_id = any(array(select id from moved)) and r.action_id = m.id and r.state = 'reserved' and m.settle is not null
          returning r.action_id, r.budget, r.scope_key, r."window", r.amount::text as amount, r.state
        )
        select 'moved' as kind, id, attempts, null as budget, null as scope_key, null as "window", null as amount, null as state from moved
        union all
        select 'settled', action_id, null, budget, scope_key, "window", amount, state from settled`,
};

const LOST = { kind: 'skipped', reason: 'the lease was taken over while the executor ran' } as const;

/** The record statement's parameter, and each record's plan (its state, columns, evidence and answer). */
export function recordParams(records: OutcomeRecord[]): { params: unknown[]; plans: Plan[] } {
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
  return { params: [JSON.stringify(values)], plans };
}

export type RecordRow = {
  kind: 'moved' | 'settled';
  id: string;
  attempts: number | null;
  budget: string | null;
  scope_key: string | null;
  window: string | null;
  amount: string | null;
  state: 'spent' | 'released' | null;
};

/**
 * The rest of a batch's records, in its transaction, after the RECORD statement: settle the budget counters
 * of the reservations it settled, and return the evidence of the transitions that happened, with one answer
 * per record, in order. A record whose transition did not happen (the lease was taken over) records nothing.
 */
export async function applyOutcomes(tx: Tx, records: OutcomeRecord[], plans: Plan[], rows: RecordRow[]): Promise<{ results: ReleaseOutcome[]; events: AuditEventInput[] }> {
  const moved = new Set(rows.filter((r) => r.kind === 'moved').map((r) => `${r.id}/${r.attempts}`));
  const settled: SettledReservation[] = rows
    .filter((r) => r.kind === 'settled')
    .map((r) => ({ budget: r.budget!, scopeKey: r.scope_key!, window: r.window!, amount: r.amount!, state: r.state! }));
  await settleCounters(tx, settled);
  // One claim, one record: were the same claim submitted twice, only its first record counts.
  const done = records.map((r) => moved.delete(`${r.row.id}/${r.row.attempts}`));
  return {
    results: plans.map((p, i) => (done[i] ? p.answer : LOST)),
    events: plans.flatMap((p, i) => (done[i] ? p.events : [])),
  };
}
