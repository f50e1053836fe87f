import type { Db } from '../db/client';
import { execNamed, withPreparedStatements, type NamedStatement } from '../db/exec-named';
import { appendEvents, laneFor, type AuditEventInput } from '../audit/append';
import { eventTemplate } from '../audit/chain-template';
import { groupCommit, type GroupCommit } from '../lib/group-commit';
import type { ActionRow } from '../db/schema';
import type { ExecutorOutcome } from '../executor/client';
import { applyClaims, CLAIM, claimParams, type ClaimRequest, type ClaimResult, type ClaimRow } from './claim';
import { planClaims, type ClaimPlan } from './claim-read';
import { LOST, recordParams, type OutcomeRecord } from './outcome';
import type { ReleaseDeps, ReleaseOutcome } from './types';

/** One write of the release path: a claim before the executor call, or the record of its answer after. */
export type ReleaseWrite = { kind: 'claim'; request: ClaimRequest } | { kind: 'outcome'; record: OutcomeRecord };

/** A claim the batch left to the careful way (claim.ts): it is claimed in a transaction of its own. */
type Careful = { kind: 'careful' };

/**
 * Claims an action for release, in the release writer's next batch: optimistically (claim-read.ts) when it
 * can, otherwise the careful way, in the careful writer's next transaction.
 */
export async function claimInBatch(request: ClaimRequest): Promise<ClaimResult> {
  const first = (await writerFor(request.deps.db).submit({ kind: 'claim', request })) as ClaimResult | Careful;
  if (first.kind !== 'careful') return first;
  return carefulWriterFor(request.deps.db).submit(request);
}

/** Records an executor's answer (outcome.ts), in the release writer's next batch. */
export function recordInBatch(db: Db, record: OutcomeRecord): Promise<ReleaseOutcome> {
  return writerFor(db).submit({ kind: 'outcome', record }) as Promise<ReleaseOutcome>;
}

/**
 * The release path's writes go through one group commit per database: the claims and the outcome records
 * of jobs that arrive while a write is in flight are made together whatever their number, in two round
 * trips: the claims' read (claim-read.ts), then one release_write call (drizzle/0016) — the records'
 * transitions, budget settlements and evidence, and the optimistic claims with theirs, in one statement and
 * one commit. Each claim and record used to make about ten round trips; a batch in one transaction, five.
 *
 * Every claim and record keeps its own guarantees inside the batch: conditional transitions (the read row
 * version; `executing` with the claim's attempt), evidence in the same transaction as the change it records,
 * budgets settled by the transition. A batch that fails as a whole is redone one write at a time (the group
 * commit's isolation), so a bad item cannot sink its neighbours: the failed call wrote nothing (one
 * statement), and the attempt fence keeps a record from being written twice.
 */
function writerFor(db: Db): GroupCommit<ReleaseWrite, ClaimResult | Careful | ReleaseOutcome> {
  let writer = writers.get(db);
  if (!writer) writers.set(db, (writer = groupCommit((batch) => writeRelease(db, batch), RELEASE_BATCH)));
  return writer;
}

/** The careful claims' writer (claim.ts): rare (take-overs, stopped releases, budgets, rows changed meanwhile). */
function carefulWriterFor(db: Db): GroupCommit<ClaimRequest, ClaimResult> {
  let writer = carefulWriters.get(db);
  if (!writer) carefulWriters.set(db, (writer = groupCommit((batch) => claimCarefully(db, batch), RELEASE_BATCH)));
  return writer;
}

const writers = new WeakMap<Db, GroupCommit<ReleaseWrite, ClaimResult | Careful | ReleaseOutcome>>();
const carefulWriters = new WeakMap<Db, GroupCommit<ClaimRequest, ClaimResult>>();
/**
 * One batch in flight: the next one gathers everything that arrives meanwhile. (Two in flight made smaller
 * batches and more statements per job, and was slower in bench/release.ts.)
 */
const RELEASE_BATCH = { maxBatch: 64, maxInFlight: 1 };

const RELEASE_WRITE: NamedStatement = {
  name: 'release_write',
  text: 'select kind, id, attempts, lease_expires_ms, updated_ms from release_write($1::jsonb)',
};

type WrittenRow = { kind: 'moved' | 'claimed'; id: string; attempts: number; lease_expires_ms: number | string | null; updated_ms: number | string | null };

const TAKEN: ClaimResult = { kind: 'not-claimed', outcome: { kind: 'skipped', reason: 'claimed by another worker or already finished' } };

/** A batch of claims and outcome records: one result per write, in order (`careful` for claims left to claim.ts). */
export async function writeRelease(db: Db, writes: ReleaseWrite[]): Promise<Array<ClaimResult | Careful | ReleaseOutcome>> {
  const claims = writes.flatMap((w) => (w.kind === 'claim' ? [w.request] : []));
  const records = writes.flatMap((w) => (w.kind === 'outcome' ? [w.record] : []));
  const plans = claims.length ? await planClaims(db, claims) : [];
  // The same action asked for twice in one batch is claimed once, for the first who asked.
  const asked = new Set<string>();
  const optimistic = plans.flatMap((p, i) => {
    if (p.kind !== 'optimistic' || asked.has(claims[i]!.actionId)) return [];
    asked.add(claims[i]!.actionId);
    return [{ index: i, plan: p }];
  });
  const record = recordParams(records);
  const events = [
    ...records.flatMap((r, i) => record.plans[i]!.events.map((e) => ({ gate: `record:${r.row.id}:${r.row.attempts}`, event: e }))),
    ...optimistic.map(({ plan }) => ({ gate: `claim:${plan.row.id}`, event: plan.event })),
  ];
  const written = records.length || optimistic.length ? await releaseWrite(db, record.values, optimistic.map((o) => o.plan), events) : [];

  const moved = new Set(written.filter((w) => w.kind === 'moved').map((w) => `${w.id}/${w.attempts}`));
  const claimed = new Map(written.filter((w) => w.kind === 'claimed').map((w) => [w.id, w]));
  const claimResults = new Map<number, ClaimResult | Careful>();
  for (const { index, plan } of optimistic) {
    const won = claimed.get(plan.row.id);
    claimResults.set(
      index,
      won
        ? {
            kind: 'claimed',
            row: { ...plan.row, attempts: Number(won.attempts), leaseExpiresAt: new Date(Number(won.lease_expires_ms)), updatedAt: new Date(Number(won.updated_ms)) },
            verdict: { kind: 'release' },
          }
        : { kind: 'careful' }, // the row changed since it was read
    );
  }
  // One claim, one record: were the same claim submitted twice, only its first record counts.
  const recordResults = records.map((r, i) => (moved.delete(`${r.row.id}/${r.row.attempts}`) ? record.plans[i]!.answer : LOST));
  let c = 0;
  let r = 0;
  return writes.map((w) => {
    if (w.kind === 'outcome') return recordResults[r++]!;
    const i = c++;
    const plan = plans[i]!;
    if (plan.kind === 'answer') return plan.result;
    if (plan.kind === 'careful') return { kind: 'careful' };
    return claimResults.get(i) ?? TAKEN;
  });
}

async function releaseWrite(db: Db, records: unknown[], claims: Array<Extract<ClaimPlan, { kind: 'optimistic' }>>, events: Array<{ gate: string; event: AuditEventInput }>): Promise<WrittenRow[]> {
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
