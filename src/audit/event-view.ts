import type { AuditEventRow } from '../db/schema';

/** The wire form of an event (API, export, --json): snake_case, as documented in docs/audit.md. */
export type AuditEventView = {
  seq: number;
  id: string;
  schema_version: string;
  type: string;
  action_id: string | null;
  correlation_id: string | null;
  agent_id: string | null;
  actor: string;
  policy_version: string | null;
  data: Record<string, unknown>;
  created_at: string;
  prev_hash: string | null;
  hash: string | null;
  chain_lane: number;
};

export function toEventView(row: AuditEventRow): AuditEventView {
  return {
    seq: Number(row.seq),
    id: row.id,
    schema_version: row.schemaVersion,
    type: row.type,
    action_id: row.actionId,
    correlation_id: row.correlationId,
    agent_id: row.agentId,
    actor: row.actor,
    policy_version: row.policyVersion,
    data: row.data,
    created_at: new Date(row.createdAt).toISOString(),
    prev_hash: row.prevHash,
    hash: row.hash,
    chain_lane: row.chainLane,
  };
}

export const CSV_COLUMNS = ['seq', 'id', 'created_at', 'type', 'action_id', 'correlation_id', 'agent_id', 'actor', 'policy_version', 'schema_version', 'data', 'prev_hash', 'hash', 'chain_lane'] as const;

/** RFC 4180 field quoting; a leading =, +, - or @ is prefixed with ' so a spreadsheet does not run it. */
export function csvField(value: unknown): string {
  let s = value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(e: AuditEventView): string {
  return CSV_COLUMNS.map((c) => csvField(e[c])).join(',');
}
