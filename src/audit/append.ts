import type { DbOrTx } from '../db/client';
import { execNamed, withPreparedStatements, type NamedStatement } from '../db/exec-named';
import { insertAsJson } from '../db/json-insert';
import { auditEvents } from '../db/schema';
import { canonicalJson, sha256Hex } from '../lib/canonical-json';
import { newId } from '../lib/ids';
import { redact } from './redact';

export type AuditEventInput = {
  type: string;
  actor: string;
  actionId?: string | null;
  correlationId?: string | null;
  agentId?: string | null;
  policyVersion?: string | null;
  data: Record<string, unknown>;
};

// Serialises appends to one chain lane (taken in audit_lane_head); held to the end of the caller's transaction.
export const CHAIN_LOCK_KEY = 727275;
export const GENESIS_HASH = '0'.repeat(64);
/** The version of the event envelope and of each type's `data` (docs/audit.md). */
export const AUDIT_SCHEMA_VERSION = '1';
/**
 * The evidence is linked into this many parallel hash chains ("lanes"). One chain would serialise every
 * writing transaction from its append to its commit; lanes let unrelated actions commit side by side, while
 * all events of one action share a lane (so their order is covered by the links). `seq` is hashed too, so
 * moving a record between positions, even across lanes, breaks its hash. Changing the number re-routes only
 * new events; verification reads each event's lane from the row.
 */
export const CHAIN_LANES = 8;

/** The lane of an event: from its action (or correlation id, or agent), so one action's events share one chain. */
export function laneFor(input: Pick<AuditEventInput, 'actionId' | 'correlationId' | 'agentId'>): number {
  const key = input.actionId ?? input.correlationId ?? input.agentId;
  if (!key) return 0;
  return Number.parseInt(sha256Hex(key).slice(0, 8), 16) % CHAIN_LANES;
}

export type ChainedFields = {
  seq: number;
  chainLane: number;
  id: string;
  schemaVersion: string;
  type: string;
  actionId: string | null;
  correlationId: string | null;
  agentId: string | null;
  actor: string;
  policyVersion: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
};

/**
 * An event's stored fields but the two its position gives it (seq, created_at): a new id, the schema version,
 * the lane, and the input with its data redacted. Shared by both appenders (here and chain-template.ts).
 */
export function envelopeFields(input: AuditEventInput, lane: number): Omit<ChainedFields, 'seq' | 'createdAt'> {
  return {
    chainLane: lane,
    id: newId('event'),
    schemaVersion: AUDIT_SCHEMA_VERSION,
    type: input.type,
    actionId: input.actionId ?? null,
    correlationId: input.correlationId ?? null,
    agentId: input.agentId ?? null,
    actor: input.actor,
    policyVersion: input.policyVersion ?? null,
    data: redact(input.data) as Record<string, unknown>,
  };
}

/** The hash of one event: SHA-256 over the previous hash in its lane and the canonical JSON of the event's fields. */
export function eventHash(prevHash: string, e: ChainedFields): string {
  return sha256Hex(prevHash + canonicalEventJson(e, Number(e.seq), e.createdAt.toISOString()));
}

/**
 * The canonical JSON (RFC 8785) that an event's hash covers. The one definition of what is hashed: the
 * appenders here and in intake_commit (src/audit/chain-template.ts) and `audit verify` all use it.
 */
export function canonicalEventJson(e: Omit<ChainedFields, 'seq' | 'createdAt'>, seq: number, createdAtIso: string): string {
  return canonicalJson({
    seq,
    chain_lane: e.chainLane,
    id: e.id,
    schema_version: e.schemaVersion,
    type: e.type,
    action_id: e.actionId,
    correlation_id: e.correlationId,
    agent_id: e.agentId,
    actor: e.actor,
    policy_version: e.policyVersion,
    data: e.data,
    created_at: createdAtIso,
  });
}

const LANE_HEAD: NamedStatement = { name: 'audit_lane_head', text: 'select hash, at_ms, seqs, now_ms from audit_lane_head($1::int, $2::int)' };

// The lane a transaction has already locked: later appends in it reuse the lane, so a transaction never
// holds two lane locks (two transactions taking two lanes in opposite order would deadlock).
const laneOfTx = new WeakMap<object, number>();

/**
 * Appends evidence events to the hash chain. Call it inside the transaction that makes the state change
 * the events record, as late as possible: it holds the lane's lock until that transaction ends.
 */
export async function appendEvents(tx: DbOrTx, inputs: AuditEventInput[]): Promise<string[]> {
  if (inputs.length === 0) return [];
  // The chain lock is transaction-scoped: outside a transaction it would be released before the insert.
  if (!('rollback' in tx)) return tx.transaction((t) => appendEvents(t, inputs));
  const lane = laneOfTx.get(tx) ?? laneFor(inputs[0]!);
  laneOfTx.set(tx, lane);
  // Lock the lane (until the transaction ends), read its head and reserve the seq numbers: one round trip
  // (audit_lane_head, drizzle/0006 and 0007; the lock key is CHAIN_LOCK_KEY, lane).
  // Both statements are prepared (src/db/exec-named.ts): one round trip each instead of two.
  const [head] = await execNamed<{ hash: string | null; at_ms: number | string | null; seqs: Array<string | number> | string; now_ms: number | string }>(
    tx,
    LANE_HEAD,
    [lane, inputs.length],
  );
  let prev = (head?.hash as string | null) ?? GENESIS_HASH;
  const seqs = parseSeqs(head?.seqs);
  // created_at is the database's clock read just after the seq numbers were taken (one clock for every
  // instance), and never decreases along a lane: across lanes it follows seq order to within microseconds,
  // so a time range maps onto a seq range (query.ts, with a margin), which is what the indexes are built for.
  const headAt = Math.round(Number(head?.at_ms ?? 0));
  const createdAt = new Date(Math.max(Math.floor(Number(head?.now_ms ?? Date.now())), headAt));
  const rows = inputs.map((input, i) => {
    const fields: ChainedFields = { ...envelopeFields(input, lane), seq: seqs[i]!, createdAt };
    const hash = eventHash(prev, fields);
    const row = { ...fields, prevHash: prev, hash };
    prev = hash;
    return row;
  });
  await insertAsJson(withPreparedStatements(tx), auditEvents, rows);
  return rows.map((r) => r.id);
}

/** postgres.js returns a bigint[] as strings; PGlite may return a literal `{1,2}`. */
function parseSeqs(raw: Array<string | number> | string | undefined): number[] {
  if (raw === undefined) throw new Error('no sequence values returned');
  const list = typeof raw === 'string' ? raw.replace(/[{}]/g, '').split(',') : raw;
  return list.map((v) => Number(v));
}

export async function appendEvent(tx: DbOrTx, input: AuditEventInput): Promise<string> {
  const [id] = await appendEvents(tx, [input]);
  return id!;
}
