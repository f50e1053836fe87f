import type { Db } from '../db/client';
import { execNamed, type NamedStatement } from '../db/exec-named';
import type { ActionRow } from '../db/schema';
import type { AuditEventInput } from '../audit/append';
import { commitStarted, leaseMsFor, whyNotClaimed, type ClaimRequest, type ClaimResult } from './claim';
import { recheckOwn } from './recheck';
import type { ReleaseDeps } from './types';
import { actionRowFromJson } from './row';

/**
 * The optimistic claim. Most claims find an approved or queued action whose re-checks pass and which no
 * budget counts: for those the claim's transaction only has to make sure the row did not change between
 * reading and claiming it. So the row is read first, without a lock, and re-checked (recheckOwn: kill switch,
 * executor, payload hash, release window, policy); then release_write (drizzle/0016) claims it only if it is
 * still the very row version that was read (`xmin`) and its agent still active, in the same statement as the
 * batch's records and evidence. Two round trips for a batch, where the careful claim (claim.ts: lock, re-check
 * in the transaction, append) takes five or more.
 *
 * Everything else takes the careful way: a lease taken over, a re-check that stops the release (it must be
 * recorded), a control that has something to ask in the transaction (budgets), a row that changed meanwhile.
 */
export type ClaimPlan =
  /** Not claimable as read: answered now, as the careful claim would answer it. */
  | { kind: 'answer'; result: ClaimResult }
  /** Claim it if the row is still `rowVersion`: `row` as it will be once claimed, with its evidence. */
  | { kind: 'optimistic'; row: ActionRow; rowVersion: string; leaseMs: number; event: AuditEventInput }
  | { kind: 'careful' };

const CLAIM_READ: NamedStatement = {
  name: 'release_claim_read',
  text: `
    select a.id, to_jsonb(a) as row, a.xmin::text as row_version, g.status as agent_status, g.name as agent_name,
           (extract(epoch from a.lease_expires_at - now()) * 1000)::float8 as lease_left_ms
    from actions a left join agents g on g.id = a.agent_id
    where a.id = any(array(select jsonb_array_elements_text($1::jsonb)))`,
};

export type ReadRow = {
  id: string;
  row: Record<string, unknown>;
  row_version: string;
  agent_status: string | null;
  agent_name: string | null;
  lease_left_ms: number | string | null;
};

/** One read for the batch's claims (each action once); a plan per request, in order. */
export async function planClaims(db: Db, requests: ClaimRequest[]): Promise<ClaimPlan[]> {
  const ids = [...new Set(requests.map((r) => r.actionId))];
  const read = await readRows(db, ids);
  const byId = new Map(read.map((r) => [r.id, r]));
  return requests.map((r) => planClaim(r, byId.get(r.actionId)));
}

export function readRows(db: Db, ids: string[]): Promise<ReadRow[]> {
  return execNamed<ReadRow>(db, CLAIM_READ, [JSON.stringify(ids)]);
}

export function planClaim(request: ClaimRequest, found: ReadRow | undefined): ClaimPlan {
  if (!found) return { kind: 'answer', result: { kind: 'not-claimed', outcome: whyNotClaimed(undefined) } };
  const status = String(found.row.status);
  const leaseLeftMs = found.lease_left_ms === null ? null : Number(found.lease_left_ms);
  if (status === 'executing' && leaseLeftMs !== null && leaseLeftMs <= 0) return { kind: 'careful' }; // a take-over
  if (status !== 'approved' && status !== 'queued') {
    return { kind: 'answer', result: { kind: 'not-claimed', outcome: whyNotClaimed({ prior_status: status, lease_left_ms: found.lease_left_ms }) } };
  }
  const read = actionRowFromJson(found.row);
  const { deps } = request;
  if (recheckOwn(deps, read, found.agent_status).kind !== 'release') return { kind: 'careful' };
  if (controlsMayStop(deps, read, found.agent_name ?? '')) return { kind: 'careful' };
  const row: ActionRow = { ...read, status: 'executing', attempts: read.attempts + 1 };
  return {
    kind: 'optimistic',
    row,
    rowVersion: found.row_version,
    leaseMs: leaseMsFor(deps, row.executor),
    event: commitStarted(row, false, deps),
  };
}

/** Whether a controls hook has something to ask of this action (then only in the claim's transaction). */
function controlsMayStop(deps: ReleaseDeps, row: ActionRow, agentName: string): boolean {
  if (!deps.controls?.check) return false;
  return deps.controls.applies?.(row, { name: agentName }) ?? true;
}
