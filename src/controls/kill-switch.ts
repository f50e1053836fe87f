import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client';
import { actions, agentTokens, agents, type AgentRow } from '../db/schema';
import { appendEvents, type AuditEventInput } from '../audit/append';
import { endGrantsOfAgent } from '../grants/store';
import { transitionAction } from '../approvals/transition';
import { AgentNotFoundError } from '../auth/token-admin';
import { Problem } from '../lib/errors';

/** What the kill switch stops: everything of the agent that has not reached an executor yet. */
export const CANCELLED_BY_KILL = ['pending_approval', 'approved', 'queued'] as const;

export type KillResult = {
  agent: { id: string; name: string };
  already_suspended: boolean;
  tokens_revoked: string[];
  /** Action ids cancelled now. */
  cancelled: string[];
  /** The cancelled actions that went to humans (an approval card exists or is due): their cards need an update. */
  cards: string[];
  /** Executor calls in flight: they finish and are recorded; nothing of the agent is released after them. */
  executing: string[];
  at: string;
  by: string;
};

/**
 * The kill switch, in one transaction: the agent is suspended, all its tokens are revoked, and its
 * pending approvals and unreleased commits are cancelled (conditional transitions, so an action a worker
 * has already claimed is left to finish). The release worker also refuses a suspended agent at release.
 */
export async function killAgent(db: Db, name: string, actor: string, reason: string | null = null): Promise<KillResult> {
  return retryOnDeadlock(() =>
    db.transaction(async (tx) => {
      const [agent] = await tx.select().from(agents).where(eq(agents.name, name)).for('update').limit(1);
      if (!agent) throw new AgentNotFoundError(`no agent named ${name}`);
      const at = new Date().toISOString();
      await tx
        .update(agents)
        .set({ status: 'suspended', suspendedAt: sql`now()`, suspendedBy: actor, updatedAt: sql`now()` })
        .where(eq(agents.id, agent.id));
      const tokens = await tx
        .update(agentTokens)
        .set({ revokedAt: sql`now()`, revokedBy: actor })
        .where(and(eq(agentTokens.agentId, agent.id), isNull(agentTokens.revokedAt)))
        .returning({ id: agentTokens.id });
      // Lock every open action before settling any budget, so the kill never waits for an action row while
      // holding budget counters (which a concurrent approval may need).
      const open = await tx
        .select({ id: actions.id, status: actions.status })
        .from(actions)
        .where(and(eq(actions.agentId, agent.id), inArray(actions.status, [...CANCELLED_BY_KILL, 'executing'])))
        .orderBy(asc(actions.id))
        .for('update');
      const events: AuditEventInput[] = [];
      const cancelled: string[] = [];
      const cards: string[] = [];
      for (const a of open.filter((o) => o.status !== 'executing')) {
        const row = await transitionAction(tx, a.id, CANCELLED_BY_KILL, 'cancelled', {
          finishedAt: new Date(),
          leaseExpiresAt: null,
          failure: { reason: 'cancelled by the kill switch', by: actor, from: a.status, why: reason },
        });
        if (!row) continue;
        cancelled.push(row.id);
        if (row.approverGroup) cards.push(row.id);
        events.push({
          type: 'action.cancelled',
          actor,
          actionId: row.id,
          correlationId: row.correlationId,
          agentId: agent.id,
          policyVersion: row.policyVersion,
          data: { by: actor, reason: 'kill switch', from: a.status, why: reason },
        });
      }
      // Standing grants end with the agent: a later request is never approved by one, even after a resume.
      const grantCards = await endGrantsOfAgent(tx, agent.id, actor);
      for (const origin of grantCards) if (!cards.includes(origin)) cards.push(origin);
      const executing = open.filter((o) => o.status === 'executing').map((o) => o.id);
      const result: KillResult = {
        agent: { id: agent.id, name: agent.name },
        already_suspended: agent.status === 'suspended',
        tokens_revoked: tokens.map((t) => t.id),
        cancelled,
        cards,
        executing,
        at,
        by: actor,
      };
      events.unshift({
        type: 'agent.killed',
        actor,
        agentId: agent.id,
        data: { name: agent.name, reason, revoked_ids: result.tokens_revoked, cancelled, executing, already_suspended: result.already_suspended },
      });
      await appendEvents(tx, events);
      return result;
    }),
  );
}

/** `kill --all`: every agent, one transaction each (so one failure does not keep the others running). */
export async function killAllAgents(db: Db, actor: string, reason: string | null = null): Promise<KillResult[]> {
  const all = await db.select({ name: agents.name }).from(agents).orderBy(asc(agents.name));
  const results: KillResult[] = [];
  for (const a of all) results.push(await killAgent(db, a.name, actor, reason));
  return results;
}

/** Lifts the suspension. Tokens stay revoked: the agent needs a new one (`agents rotate`). */
export async function resumeAgent(db: Db, name: string, actor: string): Promise<{ agent: Pick<AgentRow, 'id' | 'name' | 'status'>; was_suspended: boolean }> {
  return db.transaction(async (tx) => {
    const [agent] = await tx.select().from(agents).where(eq(agents.name, name)).for('update').limit(1);
    if (!agent) throw new AgentNotFoundError(`no agent named ${name}`);
    await tx.update(agents).set({ status: 'active', suspendedAt: null, suspendedBy: null, updatedAt: sql`now()` }).where(eq(agents.id, agent.id));
    await appendEvents(tx, [
      { type: 'agent.resumed', actor, agentId: agent.id, data: { name: agent.name, was_suspended: agent.status === 'suspended', suspended_by: agent.suspendedBy } },
    ]);
    return { agent: { id: agent.id, name: agent.name, status: 'active' }, was_suspended: agent.status === 'suspended' };
  });
}

async function retryOnDeadlock<T>(run: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await run();
    } catch (e) {
      const code = (e as { code?: string; cause?: { code?: string } }).code ?? (e as { cause?: { code?: string } }).cause?.code;
      if (i >= attempts || (code !== '40P01' && code !== '40001')) throw e;
    }
  }
}

/**
 * The intake's side of the kill switch, first thing in the creating transaction: a share lock on the agent
 * row, so a kill in progress (which holds it FOR UPDATE) finishes first and this request then sees the
 * suspension; and a kill that starts later waits for this action to commit, then cancels it.
 */
export async function assertAgentActive(tx: DbOrTx, agent: { id: string; name: string }): Promise<void> {
  const [row] = await tx.select({ status: agents.status }).from(agents).where(eq(agents.id, agent.id)).for('share').limit(1);
  if (row?.status !== 'active') throw new Problem('agent-suspended', `agent ${agent.name} is suspended`);
}
