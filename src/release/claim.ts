import { eq, sql } from 'drizzle-orm';
import type { Tx } from '../db/client';
import { execRows } from '../db/exec';
import type { NamedStatement } from '../db/exec-named';
import { commitOutbox, type ActionRow } from '../db/schema';
import type { AuditEventInput } from '../audit/append';
import { toolSurface } from '../audit/tool-surface';
import { transitionAction } from '../approvals/transition';
import { findExecutor } from '../executor/registry';
import { eventBase } from './event-base';
import { recheckControls, recheckOwn, type RecheckVerdict } from './recheck';
import { actionRowFromJson } from './row';
import { DEFAULT_LEASE_GRACE_MS, MAX_INLINE_SLOT_WAIT_MS, type ReleaseDeps, type ReleaseOutcome } from './types';

export type ClaimRequest = { deps: ReleaseDeps; actionId: string };

export type ClaimResult =
  /** Claimed with a new lease and re-checked; anything but `release` has already been recorded (refused, cancelled, sent back). */
  | { kind: 'claimed'; row: ActionRow; verdict: RecheckVerdict }
  /** Not claimed: `skipped` (finished, missing, claimed by someone else) or `leased` (a live lease elsewhere). */
  | { kind: 'not-claimed'; outcome: ReleaseOutcome };

/** A batch of several claims was not claimed as one, to give a controls refusal the same answer it gets alone. */
export class ClaimAloneError extends Error {}

/** The claim statement's parameters, and who asked: the same action asked for twice in one batch is asked once. */
export function claimParams(requests: ClaimRequest[]): { params: unknown[]; unique: ClaimRequest[] } {
  const firstOf = new Map<string, ClaimRequest>();
  for (const r of requests) if (!firstOf.has(r.actionId)) firstOf.set(r.actionId, r);
  const unique = [...firstOf.values()];
  return {
    params: [JSON.stringify(unique.map((r) => ({ id: r.actionId, leases: leaseByExecutor(r.deps), default_lease_ms: defaultLeaseMs(r.deps) })))],
    unique,
  };
}

/**
 * The rest of a batch's claim, in its transaction, after the CLAIM statement: re-check each claimed action,
 * record what the re-checks stopped (refused, cancelled, sent back), and return the evidence to append —
 * `commit.started` for the released ones — with one result per request, in order.
 */
export async function applyClaims(tx: Tx, requests: ClaimRequest[], unique: ClaimRequest[], rows: ClaimRow[]): Promise<{ results: ClaimResult[]; events: AuditEventInput[] }> {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const claimed = rows.filter((r) => r.claimed);
  const agentStatus = await agentStatuses(tx, claimed);
  const out = new Map<ClaimRequest, ClaimResult>();
  const events: AuditEventInput[] = [];
  for (const request of unique) {
    const found = byId.get(request.actionId);
    if (!found || !found.claimed) {
      out.set(request, { kind: 'not-claimed', outcome: whyNotClaimed(found) });
      continue;
    }
    const row = actionRowFromJson(found.row!);
    let verdict = recheckOwn(request.deps, row, agentStatus.get(row.id) ?? null);
    if (verdict.kind === 'release') {
      verdict = await recheckControls(request.deps, tx, row);
      // Controls (budgets) count the other executing actions; here the batch's other claims are already
      // executing, which a claim made alone would not see. Redo the batch one claim at a time.
      if (verdict.kind !== 'release' && claimed.length > 1) throw new ClaimAloneError();
    }
    if (verdict.kind === 'release') {
      // Counted at the claim: in the rare batch redone one claim at a time (ClaimAloneError) it counts twice.
      if (found.prior_status === 'executing') request.deps.onLeaseTakeover?.(row.executor!);
      events.push(commitStarted(row, found.prior_status === 'executing', request.deps));
    } else {
      events.push(await stop(tx, row, verdict));
    }
    out.set(request, { kind: 'claimed', row, verdict });
  }
  const taken: ClaimResult = { kind: 'not-claimed', outcome: { kind: 'skipped', reason: 'claimed by another worker or already finished' } };
  return { results: requests.map((r) => out.get(r) ?? taken), events };
}

export type ClaimRow = {
  id: string;
  claimed: boolean;
  /** The claimed row as `to_jsonb`, with its new status, attempt and lease. */
  row: Record<string, unknown> | null;
  agent_status: string | null;
  /** The status before this claim (claimed rows), or the status seen (the others). */
  prior_status: string;
  lease_left_ms: number | string | null;
};

// Written `(…) is true` so no index can serve it: the rows are found by key only. Left bare, the planner ANDs
// the key lookup with the open-status index, reading every open action (drizzle/0016 has the measurement).
const CLAIMABLE = `((a.status in ('approved', 'queued') or (a.status = 'executing' and a.lease_expires_at < now())) is true)`;

/**
 * The careful claim, one statement for the batch (approved|queued → executing, or executing with a lease that
 * ran out; attempt + 1; a new lease). Claimable rows are locked first in id order (so two batches
 * claiming overlapping actions cannot deadlock), then updated; the rows not claimed are reported with their
 * status and how long their lease has left, which is why they were not claimed. The agent's status comes
 * with each claimed row (the kill switch re-check).
 */
export const CLAIM: NamedStatement = {
  name: 'release_claim',
  text: `
    with want as (
      select * from jsonb_to_recordset($1::jsonb) as w(id text, leases jsonb, default_lease_ms int)
    ), locked as (
      -- Each scan of actions finds its rows by id (= any(array…)): an index lookup, whatever the table's size.
      select a.id, a.status as prior_status from actions a
      where a.id = any(array(select id from want)) and ${CLAIMABLE}
      order by a.id
      for update of a
    ), claimed as (
      update actions a set
        status = 'executing',
        attempts = a.attempts + 1,
        lease_expires_at = now() + coalesce((w.leases ->> a.executor)::int, w.default_lease_ms) * interval '1 millisecond',
        updated_at = now()
      from locked l join want w on w.id = l.id
      where a.id = any(array(select id from want)) and a.id = l.id and ${CLAIMABLE}
      returning a.*, l.prior_status
    )
    select c.id, true as claimed, to_jsonb(c) as row, g.status as agent_status, c.prior_status, null::float8 as lease_left_ms
      from claimed c left join agents g on g.id = c.agent_id
    union all
    select a.id, false, null, null, a.status, (extract(epoch from a.lease_expires_at - now()) * 1000)::float8
      from actions a
      where a.id = any(array(select id from want)) and not exists (select 1 from claimed c where c.id = a.id)`,
};

/**
 * The agents' statuses for the kill-switch re-check. The claim statement read them from its own snapshot,
 * which is as late as the claim itself for an approved or queued action: a kill switch cancels those under
 * their row lock, so a claim that waited for it finds them cancelled. An `executing` action taken over
 * after its lease ran out is not cancelled by the kill switch, and the claim may have waited for that kill
 * to commit: for those, the status is read again after the claim, as a separate statement.
 */
async function agentStatuses(tx: Tx, claimed: ClaimRow[]): Promise<Map<string, string | null>> {
  const statuses = new Map<string, string | null>(claimed.map((c) => [c.id, c.agent_status]));
  const takenOver = claimed.filter((c) => c.prior_status === 'executing');
  if (takenOver.length === 0) return statuses;
  const agentOf = new Map(takenOver.map((c) => [c.id, String(c.row!.agent_id)]));
  const fresh = await execRows<{ id: string; status: string }>(
    tx,
    sql`select id, status from agents where id in (select jsonb_array_elements_text(${JSON.stringify([...new Set(agentOf.values())])}::jsonb))`,
  );
  const now = new Map(fresh.map((a) => [a.id, a.status]));
  for (const [actionId, agentId] of agentOf) statuses.set(actionId, now.get(agentId) ?? null);
  return statuses;
}

/** The evidence of a claim that releases `row` (as claimed: its new attempt). */
export function commitStarted(row: ActionRow, leaseTakenOver: boolean, deps: Pick<ReleaseDeps, 'config'>): AuditEventInput {
  const executor = findExecutor(deps.config, row.executor!);
  return {
    ...eventBase(row),
    type: 'commit.started',
    actor: 'system',
    data: { executor: row.executor, attempt: row.attempts, payload_hash: row.payloadHash, lease_taken_over: leaseTakenOver, tool: toolSurface(executor, row) },
  };
}

/** Why an action was not claimed, from its status and lease as the claim saw them. */
export function whyNotClaimed(found: Pick<ClaimRow, 'prior_status' | 'lease_left_ms'> | undefined): ReleaseOutcome {
  if (!found) return { kind: 'skipped', reason: 'no such action' };
  const leaseLeftMs = found.lease_left_ms === null ? null : Number(found.lease_left_ms);
  if (found.prior_status === 'executing' && leaseLeftMs !== null && leaseLeftMs > 0) return { kind: 'leased', delayMs: Math.ceil(leaseLeftMs) + 250 };
  if (['approved', 'queued', 'executing'].includes(found.prior_status)) return { kind: 'skipped', reason: 'claimed by another worker or already finished' };
  return { kind: 'skipped', reason: `action is ${found.prior_status}` };
}

/** The lease covers the executor call, and a short wait for a rate-limit slot when the executor has a limit. */
function leaseByExecutor(deps: ReleaseDeps): Record<string, number> {
  return Object.fromEntries(deps.config.executors.map((e) => [e.name, executorLeaseMs(deps, e)]));
}

/** The lease of a claim of an action for `executor` (unconfigured: defaultLeaseMs). */
/** What a lease depends on: the executors' timeouts, the grace, and whether a rate-limit slot may be waited for. */
type LeaseDeps = Pick<ReleaseDeps, 'config' | 'leaseGraceMs' | 'releaseGate'>;

export function leaseMsFor(deps: LeaseDeps, executor: string | null): number {
  const e = executor ? deps.config.executors.find((x) => x.name === executor) : undefined;
  return e ? executorLeaseMs(deps, e) : defaultLeaseMs(deps);
}

function executorLeaseMs(deps: LeaseDeps, e: ReleaseDeps['config']['executors'][number]): number {
  return e.timeout_ms + (deps.leaseGraceMs ?? DEFAULT_LEASE_GRACE_MS) + (e.rate_limit && deps.releaseGate ? MAX_INLINE_SLOT_WAIT_MS : 0);
}

/** An action whose executor is not configured is refused by the re-check; its lease only has to outlive that. */
function defaultLeaseMs(deps: LeaseDeps): number {
  return 10_000 + (deps.leaseGraceMs ?? DEFAULT_LEASE_GRACE_MS);
}

/** Ends a claim the re-check refused: refused, cancelled, or sent back for a new approval. Returns its evidence. */
async function stop(tx: Tx, row: ActionRow, verdict: Exclude<RecheckVerdict, { kind: 'release' }>): Promise<AuditEventInput> {
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
    return {
      ...base,
      policyVersion: verdict.decision.policy_version,
      type: 'commit.sent_back',
      actor: 'system',
      data: { reason: verdict.reason, rule_id: verdict.decision.rule_id, via: esc.via, approvals: esc.approvals, attempt: row.attempts },
    };
  }
  const to = verdict.kind === 'cancel' ? 'cancelled' : 'refused';
  await transitionAction(tx, row.id, ['executing'], to, {
    failure: { code: verdict.code, reason: verdict.reason },
    finishedAt: new Date(),
    leaseExpiresAt: null,
  });
  return { ...base, type: to === 'cancelled' ? 'commit.cancelled' : 'commit.refused', actor: 'system', data: { code: verdict.code, reason: verdict.reason, attempt: row.attempts } };
}
