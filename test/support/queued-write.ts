import type { Principal } from '../../src/auth/agents';
import type { QueuedActionWrite } from '../../src/intake/batch-writer';
import { newId } from '../../src/lib/ids';

let n = 0;

/**
 * One allowed request's records as the intake hands them to its writer (src/intake/batch-writer.ts): the
 * `queued` action row and its four creation events. For the writer's tests and the intake benchmark's
 * records-only figure. `override` replaces row fields (e.g. a NULL in a NOT NULL column).
 */
export function queuedWrite(principal: Principal, data: Record<string, unknown> = {}, override: Record<string, unknown> = {}): QueuedActionWrite {
  const id = newId('action');
  const now = new Date();
  const base = { actionId: id, correlationId: id, agentId: principal.agent.id, policyVersion: 'test' };
  return {
    row: {
      id,
      agentId: principal.agent.id,
      actionClass: 'external_automation.read.jobs',
      params: data,
      context: {},
      executor: 'automation',
      idempotencyKey: `writer-${++n}-${Math.random().toString(36).slice(2)}`,
      requestHash: 'r'.repeat(64),
      correlationId: id,
      justification: 'benchmark',
      payloadHash: 'p'.repeat(64),
      status: 'queued',
      decision: 'allow',
      ruleId: 'allow-reads',
      reasoning: 'reads are allowed',
      policyVersion: 'test',
      approvedAt: now,
      approvedPayloadHash: 'p'.repeat(64),
      createdAt: now,
      updatedAt: now,
      responseStatus: 201,
      responseBody: { id, status: 'queued' },
      ...override,
    },
    events: [
      { ...base, type: 'action.requested', actor: `agent:${principal.agent.id}`, data: { action_class: 'external_automation.read.jobs', params: data } },
      { ...base, type: 'policy.decided', actor: 'system', data: { decision: 'allow', rule_id: 'allow-reads', status: 'approved' } },
      { ...base, type: 'action.approved', actor: 'system', data: { by: 'policy', rule_id: 'allow-reads' } },
      { ...base, type: 'commit.queued', actor: 'system', data: { executor: 'automation' } },
    ],
    credentials: { agentId: principal.agent.id, tokenId: principal.tokenId, scopes: principal.agent.scopes, rateLimitPerMinute: null },
  };
}
