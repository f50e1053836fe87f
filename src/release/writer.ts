import type { Db } from '../db/client';
import { execNamed, withPreparedStatements, type NamedStatement } from '../db/exec-named';
import { appendEvents, laneFor, type AuditEventInput } from '../audit/append';
import { eventTemplate } from '../audit/chain-template';
import { groupCommit, type GroupCommit } from '../lib/group-commit';
import type { ActionRow } from '../db/schema';
import type { ExecutorOutcome } from '../executor/client';
import { applyClaims, CLAIM, claimParams, type ClaimRequest, type ClaimResult, type ClaimRow } from './claim';
import { planClaim, planClaims, type ClaimPlan } from './claim-read';
import { readAhead, type ReadAhead } from './read-ahead';
import { LOST, recordParams, type OutcomeRecord } from './outcome';
import type { ReleaseDeps, ReleaseOutcome, Upcoming } from './types';

/** A claim planned from the read (claim-read.ts) that release_write is to make if the row is unchanged. */
type OptimisticPlan = Extract<ClaimPlan, { kind: 'optimistic' }>;

/** One write of the release path: an optimistic claim before the executor call, or the record of its answer after. */
export type ReleaseWrite = { kind: 'claim'; plan: OptimisticPlan } | { kind: 'outcome'; record: OutcomeRecord };

/** A claim the batch left to the careful way (claim.ts): the row changed since it was read. */
type Careful = { kind: 'careful' };

/**
 * Claims an action for release. Its row is read in the reader's next batch and planned (claim-read.ts); an
 * optimistic claim is then made in the writer's next batch, and anything else the careful way, in the careful
 * writer's next transaction. Reads and writes are separate stages: the reads of the next claims go on while
 * a write is in flight, so a claim does not wait for the write before it to be read.
 */
export async function claimInBatch(request: ClaimRequest): Promise<ClaimResult> {
  const { db } = request.deps;
  // A row read ahead (read-ahead.ts) is used for a claim only: what it would answer without claiming
  // (finished, leased elsewhere) may have changed since, and is asked of the row as it is now.
  const ahead = request.deps.upcoming && readAheadFor(request.deps.upcoming, db).take(request.actionId);
  const early = ahead && planClaim(request, ahead);
  const readAhead = early && early.kind !== 'answer';
  request.deps.onClaimRead?.(readAhead ? 'ahead' : 'own');
  const plan = readAhead ? early : await readerFor(db).submit(request);
  if (plan.kind === 'answer') return plan.result;
  if (plan.kind === 'optimistic') {
    const written = (await writerFor(db).submit({ kind: 'claim', plan })) as ClaimResult | Careful;
    if (written.kind !== 'careful') return written;
  }
  return carefulWriterFor(db).submit(request);
}

/** Records an executor's answer (outcome.ts), in the release writer's next batch. */
export function recordInBatch(db: Db, record: OutcomeRecord): Promise<ReleaseOutcome> {
  return writerFor(db).submit({ kind: 'outcome', record }) as Promise<ReleaseOutcome>;
}

/**
 * The release path's writes go through one group commit per database: the optimistic claims and the outcome
 * records of jobs that arrive while a write is in flight are made together whatever their number, in one
 * release_write call (drizzle/0016) — the records' transitions, budget settlements and evidence, and the claims
 * with theirs, in one statement and one commit. Each claim and record used to make about ten round trips; a
 * batch in one transaction, five; now one, and the claims' read (one per batch of reads) before it.
 *
 * Every claim and record keeps its own guarantees inside the batch: conditional transitions (the read row
 * version; `executing` with the claim's attempt), evidence in the same transaction as the change it records,
 * budgets settled by the transition. A batch that fails as a whole is redone one write at a time (the group
 * commit's isolation), so a bad item cannot sink its neighbours: the failed call wrote nothing (one
 * statement), and the attempt fence keeps a record from being written twice.
 */
const writerFor = onePer((db: Db) => groupCommit<ReleaseWrite, ClaimResult | Careful | ReleaseOutcome>((batch) => writeRelease(db, batch), RELEASE_BATCH));

/** One read-ahead per `upcoming` (one per process's release deps), on the database it claims in. */
export const readAheadFor: (upcoming: Upcoming, db: Db) => ReadAhead = onePer((upcoming, db) => readAhead(db, upcoming));

/** The claims' reads (claim-read.ts): read-only, so two may be in flight beside the writer's one. */
const readerFor = onePer((db: Db) => groupCommit<ClaimRequest, ClaimPlan>((batch) => planClaims(db, batch), READ_BATCH));

/** The careful claims' writer (claim.ts): rare (take-overs, stopped releases, budgets, rows changed meanwhile). */
const carefulWriterFor = onePer((db: Db) => groupCommit<ClaimRequest, ClaimResult>((batch) => claimCarefully(db, batch), RELEASE_BATCH));

/** One `make(key, …rest)` per `key` (an object, held weakly), made on first use with that first call's `rest`. */
function onePer<K extends object, R extends unknown[], T>(make: (key: K, ...rest: R) => T): (key: K, ...rest: R) => T {
  const made = new WeakMap<K, T>();
  return (key, ...rest) => {
    let it = made.get(key);
    if (it === undefined) made.set(key, (it = make(key, ...rest)));
    return it;
  };
}

/**
 * One write in flight: the next one gathers everything that arrives meanwhile. (Two in flight made smaller
 * batches and more statements per job, and was slower in bench/release.ts.)
 */
export const RELEASE_BATCH = { maxBatch: 64, maxInFlight: 1 };
export const READ_BATCH = { maxBatch: 64, maxInFlight: 2 };

const RELEASE_WRITE: NamedStatement = {
  name: 'release_write',
  text: 'select kind, id, attempts, lease_expires_ms, updated_ms from release_write($1::jsonb)',
};

const TAKEN: ClaimResult = { kind: 'not-claimed', outcome: { kind: 'skipped', reason: 'claimed by another worker or already finished' } };

type WrittenRow = { kind: 'moved' | 'claimed'; id: string; attempts: number; lease_expires_ms: number | string | null; updated_ms: number | string | null };

/** A batch of optimistic claims and outcome records: one result per write, in order (`careful` for a row changed since it was read). */
export async function writeRelease(db: Db, writes: ReleaseWrite[]): Promise<Array<ClaimResult | Careful | ReleaseOutcome>> {
  const records = writes.flatMap((w) => (w.kind === 'outcome' ? [w.record] : []));
  // The same action asked for twice in one batch is claimed once, for the first who asked.
  const firstAsk = new Map<string, OptimisticPlan>();
  for (const w of writes) if (w.kind === 'claim' && !firstAsk.has(w.plan.row.id)) firstAsk.set(w.plan.row.id, w.plan);
  const claims = [...firstAsk.values()];
  const record = recordParams(records);
  const events = [
    ...records.flatMap((r, i) => record.plans[i]!.events.map((e) => ({ gate: `record:${r.row.id}:${r.row.attempts}`, event: e }))),
    ...claims.map((plan) => ({ gate: `claim:${plan.row.id}`, event: plan.event })),
  ];
  const written = await releaseWrite(db, record.values, claims, events);
  const moved = new Set(written.filter((w) => w.kind === 'moved').map((w) => `${w.id}/${w.attempts}`));
  const claimed = new Map(written.filter((w) => w.kind === 'claimed').map((w) => [w.id, w]));
  // One claim, one record: were the same claim submitted twice, only its first record counts.
  const recordResults = records.map((r, i) => (moved.delete(`${r.row.id}/${r.row.attempts}`) ? record.plans[i]!.answer : LOST));
  let r = 0;
  return writes.map((w) => {
    if (w.kind === 'outcome') return recordResults[r++]!;
    if (firstAsk.get(w.plan.row.id) !== w.plan) return TAKEN; // asked again in this batch: the first ask has it
    const won = claimed.get(w.plan.row.id);
    if (!won) return { kind: 'careful' }; // the row changed since it was read
    return {
      kind: 'claimed',
      row: { ...w.plan.row, attempts: Number(won.attempts), leaseExpiresAt: new Date(Number(won.lease_expires_ms)), updatedAt: new Date(Number(won.updated_ms)) },
      verdict: { kind: 'release' },
    } satisfies ClaimResult;
  });
}

async function releaseWrite(db: Db, records: unknown[], claims: OptimisticPlan[], events: Array<{ gate: string; event: AuditEventInput }>): Promise<WrittenRow[]> {
  // One lane for the whole call, as every appender does for one transaction (the first event's).
  const lane = events.length ? laneFor(events[0]!.event) : 0;
  const payload = {
    lane,
    records,
    claims: claims.map((p) => ({ id: p.row.id, row_version: p.rowVersion, lease_ms: p.leaseMs })),
    events: events.map((e) => ({ ...eventTemplate(e.event, lane), gate: e.gate })),
  };
  return execNamed<WrittenRow>(db, RELEASE_WRITE, [JSON.stringify(payload)]);
}

/**
 * The careful claim (claim.ts), for a batch of claims, in one transaction: the CLAIM statement locks and
 * claims, the re-checks and controls run in the transaction, and what they stopped is recorded with its
 * evidence. One result per request, in order.
 */
export async function claimCarefully(db: Db, requests: ClaimRequest[]): Promise<ClaimResult[]> {
  const claim = claimParams(requests);
  return db.transaction(async (raw) => {
    const tx = withPreparedStatements(raw);
    const rows = await execNamed<ClaimRow>(tx, CLAIM, claim.params);
    const claimed = await applyClaims(tx, requests, claim.unique, rows);
    await appendEvents(tx, claimed.events);
    return claimed.results;
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
