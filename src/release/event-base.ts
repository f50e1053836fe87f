import type { ActionRow } from '../db/schema';

/** The fields every evidence event of a release carries: which action, its correlation, agent and policy version. */
export function eventBase(row: ActionRow) {
  return { actionId: row.id, correlationId: row.correlationId, agentId: row.agentId, policyVersion: row.policyVersion };
}
