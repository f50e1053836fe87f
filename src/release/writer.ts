import type { Db } from '../db/client';
import { execNamed, withPreparedStatements } from '../db/exec-named';
import { appendEvents } from '../audit/append';
import { groupCommit, type GroupCommit } from '../lib/group-commit';
import type { ActionRow } from '../db/schema';
import type { ExecutorOutcome } from '../executor/client';
import { applyClaims, CLAIM, claimParams, type ClaimRequest, type ClaimResult, type ClaimRow } from './claim';
import { applyOutcomes, RECORD, recordParams, type OutcomeRecord, type RecordRow } from './outcome';
import type { ReleaseDeps, ReleaseOutcome } from './types';

/** One write of the release path: a claim before the executor call, or the record of its answer after. */
export type ReleaseWrite = { kind: 'claim'; request: ClaimRequest } | { kind: 'outcome'; record: OutcomeRecord };

/** Claims an action for release (claim.ts), in the release writer's next group commit. */
export function claimInBatch(request: ClaimRequest): Promise<ClaimResult> {
  return writerFor(request.deps.db).submit({ kind: 'claim', request }) as Promise<ClaimResult>;
}

/** Records an executor's answer (outcome.ts), in the release writer's next group commit. */
export function recordInBatch(db: Db, record: OutcomeRecord): Promise<ReleaseOutcome> {
  return writerFor(db).submit({ kind: 'outcome', record }) as Promise<ReleaseOutcome>;
}

/**
 * The release path's writes go through one group commit per database: the claims and the outcome records
 * of jobs that arrive while a write is in flight are made together, in one transaction — begin, the claim
 * and record statements (sent together), the evidence lane head and insert, commit — whatever their
 * number. Under load that is five round trips for several jobs, where each claim and each record used to
 * make about ten (each unprepared statement with parameters costs postgres.js two).
 *
 * Every claim and record keeps its own guarantees inside the batch: conditional transitions (claimable
 * state; `executing` with the claim's attempt), evidence in the same transaction as the change it records,
 * budgets settled by the transition. A batch that fails as a whole is redone one write per transaction (the
 * group commit's isolation), so a bad item cannot sink its neighbours: the failed batch wrote nothing, and
 * the attempt fence keeps a record from being written twice.
 */
function writerFor(db: Db): GroupCommit<ReleaseWrite, ClaimResult | ReleaseOutcome> {
  let writer = writers.get(db);
  if (!writer) writers.set(db, (writer = groupCommit((batch) => writeRelease(db, batch), RELEASE_BATCH)));
  return writer;
}

const writers = new WeakMap<Db, GroupCommit<ReleaseWrite, ClaimResult | ReleaseOutcome>>();
/**
 * One batch in flight: the next one gathers everything that arrives meanwhile. (Two in flight made smaller
 * batches and more statements per job, and was slower in bench/release.ts.)
 */
const RELEASE_BATCH = { maxBatch: 64, maxInFlight: 1 };

/** One transaction for a batch of claims and outcome records; one result per write, in order. */
export async function writeRelease(db: Db, writes: ReleaseWrite[]): Promise<Array<ClaimResult | ReleaseOutcome>> {
  const claims = writes.flatMap((w) => (w.kind === 'claim' ? [w.request] : []));
  const records = writes.flatMap((w) => (w.kind === 'outcome' ? [w.record] : []));
  const claim = claimParams(claims);
  const record = recordParams(records);
  return db.transaction(async (raw) => {
    const tx = withPreparedStatements(raw);
    // Sent together: postgres.js pipelines them on the transaction's connection, one round trip for both.
    const [claimRows, recordRows] = await Promise.all([
      claims.length ? execNamed<ClaimRow>(tx, CLAIM, claim.params) : Promise.resolve([]),
      records.length ? execNamed<RecordRow>(tx, RECORD, record.params) : Promise.resolve([]),
    ]);
    const recorded = await applyOutcomes(tx, records, record.plans, recordRows);
    const claimed = await applyClaims(tx, claims, claim.unique, claimRows);
    // All of the batch's evidence in one append: one lane lock, one head, one insert.
    await appendEvents(tx, [...recorded.events, ...claimed.events]);
    let c = 0;
    let r = 0;
    return writes.map((w) => (w.kind === 'claim' ? claimed.results[c++]! : recorded.results[r++]!));
  });
}

/**
 * Records what the executor answered, in a transaction of its own: `committed` only on 2xx; 4xx or retries
 * exhausted → `failed` with an exception_record; otherwise back to `queued` for a retry. Every write is fenced by
 * the claim's attempt number: a worker whose lease was taken over records nothing.
 */
export async function recordOutcome(deps: Pick<ReleaseDeps, 'db'>, row: ActionRow, outcome: ExecutorOutcome, maxAttempts: number): Promise<ReleaseOutcome> {
  const [result] = await writeRelease(deps.db, [{ kind: 'outcome', record: { row, outcome, maxAttempts } }]);
  return result as ReleaseOutcome;
}
