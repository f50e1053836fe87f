import { eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { agents, type AgentRow } from '../db/schema';
import { appendEvents } from '../audit/append';
import { isValidActionClassGlob } from '../lib/action-class-glob';
import { AgentInputError } from './agents';
import { AgentNotFoundError } from './token-admin';

export type AgentChanges = { owner?: string; tags?: string[]; scopes?: string[]; rateLimitPerMinute?: number | null };

/**
 * Changes an agent's owner, scopes or rate limit; the evidence records before and after. Scopes and
 * limits are read on every request, so a narrowed scope applies to the very next request.
 */
export async function updateAgent(db: DbOrTx, name: string, changes: AgentChanges, actor: string): Promise<AgentRow> {
  if (changes.scopes) {
    if (changes.scopes.length === 0) throw new AgentInputError('an agent needs at least one scope');
    const bad = changes.scopes.filter((s) => !isValidActionClassGlob(s));
    if (bad.length) throw new AgentInputError(`invalid scope glob(s): ${bad.join(', ')}`);
  }
  if (changes.rateLimitPerMinute !== undefined && changes.rateLimitPerMinute !== null && !(Number.isInteger(changes.rateLimitPerMinute) && changes.rateLimitPerMinute > 0)) {
    throw new AgentInputError('the rate limit must be a positive whole number of requests per minute');
  }
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(agents).where(eq(agents.name, name)).for('update').limit(1);
    if (!before) throw new AgentNotFoundError(`no agent named ${name}`);
    const [after] = await tx
      .update(agents)
      .set({
        ...(changes.owner !== undefined ? { owner: changes.owner } : {}),
        ...(changes.tags !== undefined ? { tags: changes.tags } : {}),
        ...(changes.scopes !== undefined ? { scopes: changes.scopes } : {}),
        ...(changes.rateLimitPerMinute !== undefined ? { rateLimitPerMinute: changes.rateLimitPerMinute } : {}),
        updatedAt: sql`now()`,
      })
      .where(eq(agents.id, before.id))
      .returning();
    const view = (a: AgentRow) => ({ owner: a.owner, tags: a.tags, scopes: a.scopes, rate_limit_per_minute: a.rateLimitPerMinute });
    await appendEvents(tx, [{ type: 'agent.updated', actor, agentId: before.id, data: { name, before: view(before), after: view(after!) } }]);
    return after!;
  });
}
