import type { Db } from '../db/client';
import { createAgent, findAgentByName } from '../auth/agents';
import { updateAgent } from '../auth/agent-update';
import { rotateAgentToken } from '../auth/token-admin';
import { resumeAgent } from '../controls/kill-switch';
import type { DrillAgent } from './context';

export const DRILL_AGENT = 'countersign-drill';
export const DRILL_LOOP_AGENT = 'countersign-drill-loop';

/**
 * Makes a drill agent ready for a run: created on the first drill; on later ones resumed (the last drill
 * killed it), its scopes and limit set again, and given a fresh token (older ones expire now).
 */
export async function armDrillAgent(db: Db, name: string, scopes: string[], rateLimitPerMinute: number | null, operator: string): Promise<DrillAgent> {
  const existing = await findAgentByName(db, name);
  if (!existing) {
    const { agent, token } = await createAgent(db, { name, owner: 'countersign-drill', scopes, rateLimitPerMinute }, operator);
    return { name, id: agent.id, token };
  }
  await updateAgent(db, name, { scopes, rateLimitPerMinute, owner: 'countersign-drill' }, operator);
  if (existing.status !== 'active') await resumeAgent(db, name, operator);
  const rotated = await rotateAgentToken(db, name, 0, operator);
  return { name, id: existing.id, token: rotated.token };
}
