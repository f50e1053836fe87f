import { canonicalEventJson, envelopeFields, type AuditEventInput } from './append';
import type { AuditEventView } from './event-view';

/**
 * An event prepared for linking by the database (intake_commit, drizzle/0008): its stored fields, and the
 * canonical JSON its hash covers cut around the two values only the database knows when it links it,
 * created_at and seq. The database hashes `prev_hash + head + created_at + mid + seq + tail`, which is
 * exactly `eventHash` (src/audit/append.ts) of the stored row: `audit verify` checks both kinds alike.
 */
export type EventTemplate = Pick<
  AuditEventView,
  'id' | 'schema_version' | 'type' | 'action_id' | 'correlation_id' | 'agent_id' | 'actor' | 'policy_version' | 'data'
> & { head: string; mid: string; tail: string };

// Placeholders for the two holes. They are found structurally: created_at is the first key after the
// fixed-shape identifiers (a quote inside any string value is escaped, so `"created_at":"` cannot occur
// earlier), and seq is the last key but one, after `data`, so its last occurrence is the envelope's.
const CREATED_AT_HOLE = '"created_at":"1970-01-01T00:00:00.000Z"';
const SEQ_HOLE = '"seq":0,';

export function eventTemplate(input: AuditEventInput, lane: number): EventTemplate {
  const fields = envelopeFields(input, lane);
  const json = canonicalEventJson(fields, 0, '1970-01-01T00:00:00.000Z');
  const at = json.indexOf(CREATED_AT_HOLE);
  const seq = json.lastIndexOf(SEQ_HOLE);
  if (at < 0 || seq < at) throw new Error('canonical event JSON has an unexpected shape');
  const holeStart = at + '"created_at":"'.length;
  return {
    id: fields.id,
    schema_version: fields.schemaVersion,
    type: fields.type,
    action_id: fields.actionId,
    correlation_id: fields.correlationId,
    agent_id: fields.agentId,
    actor: fields.actor,
    policy_version: fields.policyVersion,
    data: fields.data,
    head: json.slice(0, holeStart),
    mid: json.slice(holeStart + '1970-01-01T00:00:00.000Z'.length, seq + '"seq":'.length),
    tail: json.slice(seq + '"seq":0'.length),
  };
}
