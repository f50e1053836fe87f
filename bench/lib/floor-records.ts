// The records floor's records: what the allow path writes for one request (src/intake/write-allowed.ts), built
// by the intake's own functions so that row, evidence and stored response have the same columns and sizes.
// Only the application's work is left out: hashes are fixed strings and the stored receipt is a placeholder
// of a real one's size, unsigned.
import type { QueuedActionWrite } from '../../src/intake/batch-writer';
import { actionRow, evidenceForCreation } from '../../src/intake/record';
import { toActionView } from '../../src/intake/action-view';
import type { ActionRow } from '../../src/db/schema';
import type { CreateActionRequest } from '../../src/intake/schemas';
import type { Decision } from '../../src/policy';
import { newId } from '../../src/lib/ids';

export type FloorAgent = { id: string; name: string; owner: string; tokenId: string; scopes: string[]; rateLimitPerMinute: number | null };

const HASH = 'f'.repeat(64);
const DECISION: Decision = { decision: 'allow', rule_id: 'allow-automation-reads', reasoning: 'Reads and status checks are low risk and allowed.', escalation: null, policy_version: 'f'.repeat(16) };

/** A receipt-shaped placeholder of a real receipt's size (payload fields, kid, an 86-character signature). */
function placeholderReceipt(row: ReturnType<typeof actionRow>) {
  const kid = 'ed25519-ffffffffffffffff';
  return {
    payload: {
      typ: 'countersign.receipt', v: 1, action_id: row.id, correlation_id: row.correlationId, agent_id: row.agentId, action_class: row.actionClass,
      payload_hash: HASH, decision: 'allow', rule_id: DECISION.rule_id, policy_version: DECISION.policy_version, status: 'queued',
      approvers: ['policy'], result_hash: null, issued_at: new Date().toISOString(), kid,
    },
    alg: 'EdDSA', kid, signature: 's'.repeat(86),
  };
}

export function floorRecords(body: Record<string, unknown>, agent: FloorAgent): QueuedActionWrite {
  const req = {
    action_class: String(body.action_class),
    params: (body.params ?? {}) as Record<string, unknown>,
    context: (body.context ?? {}) as Record<string, unknown>,
    dry_run: false,
    idempotency_key: String(body.idempotency_key),
    justification: String(body.justification ?? ''),
  } satisfies CreateActionRequest;
  const id = newId('action');
  const facts = { plan: null, agent: { id: agent.id, name: agent.name, owner: agent.owner, tags: [] }, requester: null };
  const row = actionRow({
    id, agentId: agent.id, req, executor: 'automation', requestHash: HASH, correlationId: id, hash: HASH,
    planned: { status: 'queued', decision: DECISION }, preview: null, facts, prepared: null, taskId: null,
  });
  row.responseStatus = 201;
  row.responseBody = { ...toActionView({ ...row, preview: null, result: null, failure: null, edited: null } as ActionRow), receipt: placeholderReceipt(row) };
  const events = evidenceForCreation(row, { id: agent.id, name: agent.name, owner: agent.owner, tags: [], scopes: agent.scopes, status: 'active', rateLimitPerMinute: agent.rateLimitPerMinute }, req, DECISION, null);
  return { row: row as QueuedActionWrite['row'], events, credentials: { agentId: agent.id, tokenId: agent.tokenId, scopes: agent.scopes, rateLimitPerMinute: agent.rateLimitPerMinute } };
}
