import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { execRows } from '../db/exec';
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

// Serialises chain appends; held only from the append to the end of the caller's transaction.
const CHAIN_LOCK_KEY = 727275;
export const GENESIS_HASH = '0'.repeat(64);
/** The version of the event envelope and of each type's `data` (docs/audit.md). */
export const AUDIT_SCHEMA_VERSION = '1';

export type ChainedFields = {
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

/** The hash of one event: SHA-256 over the previous hash and the canonical JSON of the event's fields. */
export function eventHash(prevHash: string, e: ChainedFields): string {
  return sha256Hex(
    prevHash +
      canonicalJson({
        id: e.id,
        schema_version: e.schemaVersion,
        type: e.type,
        action_id: e.actionId,
        correlation_id: e.correlationId,
        agent_id: e.agentId,
        actor: e.actor,
        policy_version: e.policyVersion,
        data: e.data,
        created_at: e.createdAt.toISOString(),
      }),
  );
}

/**
 * Appends evidence events to the hash chain. Call it inside the transaction that makes the state change
 * the events record, as late as possible: it holds the chain lock until that transaction ends.
 */
export async function appendEvents(tx: DbOrTx, inputs: AuditEventInput[]): Promise<string[]> {
  if (inputs.length === 0) return [];
  // The chain lock is transaction-scoped: outside a transaction it would be released before the insert.
  if (!('rollback' in tx)) return tx.transaction((t) => appendEvents(t, inputs));
  await tx.execute(sql`select pg_advisory_xact_lock(${CHAIN_LOCK_KEY})`);
  const head = await execRows<{ hash: string | null; at_ms: number | string | null }>(
    tx,
    sql`select hash, (extract(epoch from created_at) * 1000)::float8 as at_ms from audit_events order by seq desc limit 1`,
  );
  let prev = (head[0]?.hash as string | undefined) ?? GENESIS_HASH;
  // created_at never decreases along the chain (clocks of several instances may disagree by a little):
  // a time range is then a seq range, which is what the query indexes are built for.
  const headAt = Math.round(Number(head[0]?.at_ms ?? 0));
  const createdAt = new Date(Math.max(Date.now(), headAt));
  const rows = inputs.map((input) => {
    const fields: ChainedFields = {
      id: newId('event'),
      schemaVersion: AUDIT_SCHEMA_VERSION,
      type: input.type,
      actionId: input.actionId ?? null,
      correlationId: input.correlationId ?? null,
      agentId: input.agentId ?? null,
      actor: input.actor,
      policyVersion: input.policyVersion ?? null,
      data: redact(input.data) as Record<string, unknown>,
      createdAt,
    };
    const hash = eventHash(prev, fields);
    const row = { ...fields, prevHash: prev, hash };
    prev = hash;
    return row;
  });
  await tx.insert(auditEvents).values(rows);
  return rows.map((r) => r.id);
}

export async function appendEvent(tx: DbOrTx, input: AuditEventInput): Promise<string> {
  const [id] = await appendEvents(tx, [input]);
  return id!;
}
