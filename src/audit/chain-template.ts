import { canonicalEventJson, envelopeFields, type AuditEventInput } from './append';

/**
 * An event prepared for linking by the database (audit_link_events, drizzle/0017; intake_commit and
 * release_write call it): the canonical JSON its hash covers, cut around the two values only the database
 * knows when it links it, created_at and seq. The database hashes `prev_hash + head + created_at + mid + seq +
 * tail`, which is exactly `eventHash` (src/audit/append.ts) of the stored row, and stores the fields it reads
 * back from that same text: `audit verify` checks both kinds alike. The text holds every stored field, so
 * nothing else travels but `action_id` (intake_commit picks the events of the actions it inserted by it).
 */
export type EventTemplate = { action_id: string | null; head: string; mid: string; tail: string };

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
    action_id: fields.actionId,
    head: json.slice(0, holeStart),
    mid: json.slice(holeStart + '1970-01-01T00:00:00.000Z'.length, seq + '"seq":'.length),
    tail: json.slice(seq + '"seq":0'.length),
  };
}
