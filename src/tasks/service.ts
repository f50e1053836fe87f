import { and, eq, gte, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client';
import { agents, tasks, type TaskRow } from '../db/schema';
import type { FileConfig } from '../config/file-config';
import { appendEvents } from '../audit/append';

import { Problem } from '../lib/errors';
import { newId } from '../lib/ids';
import type { Agent } from '../auth/agents';

export type TaskView = {
  id: string;
  status: 'open' | 'closed' | 'expired';
  description: string;
  created_at: string;
  expires_at: string;
  closed_at: string | null;
  /** The per-task budgets that apply to this agent's actions in the task. */
  budgets: Array<{ name: string; max: number; unit: string | null; counts: string; action_classes: string[] | null }>;
};

export function taskStatus(row: Pick<TaskRow, 'status' | 'expiresAt'>, now = new Date()): TaskView['status'] {
  if (row.status === 'closed') return 'closed';
  return row.expiresAt.getTime() <= now.getTime() ? 'expired' : 'open';
}

export function toTaskView(row: TaskRow, config: Pick<FileConfig, 'budgets'>, agent: Pick<Agent, 'name'>): TaskView {
  return {
    id: row.id,
    status: taskStatus(row),
    description: row.description,
    created_at: row.createdAt.toISOString(),
    expires_at: row.expiresAt.toISOString(),
    closed_at: row.closedAt?.toISOString() ?? null,
    budgets: (config.budgets ?? [])
      .filter((b) => b.per === 'task' && (!b.agents || b.agents.includes(agent.name)))
      .map((b) => ({ name: b.name, max: b.max, unit: b.unit ?? null, counts: b.sum ?? 'invocations', action_classes: b.action_classes ?? null })),
  };
}

/**
 * Opens a task for an agent. The agent's row is locked for the count, so concurrent opens on any instance
 * cannot pass the limits together (open tasks at once, tasks opened this UTC day).
 */
export async function openTask(db: Db, config: Pick<FileConfig, 'tasks'>, agent: Agent, description: string): Promise<TaskRow> {
  const limits = config.tasks;
  return db.transaction(async (tx) => {
    const [locked] = await tx.select({ status: agents.status }).from(agents).where(eq(agents.id, agent.id)).for('update').limit(1);
    if (locked?.status !== 'active') throw new Problem('agent-suspended', `agent ${agent.name} is suspended`);
    const [counts] = await tx
      .select({
        open: sql<number>`count(*) filter (where ${tasks.status} = 'open' and ${tasks.expiresAt} > now())::int`,
        today: sql<number>`count(*) filter (where ${tasks.createdAt} >= date_trunc('day', now() at time zone 'utc') at time zone 'utc')::int`,
      })
      .from(tasks)
      .where(and(eq(tasks.agentId, agent.id), gte(tasks.createdAt, sql`least(date_trunc('day', now() at time zone 'utc') at time zone 'utc', now() - interval '31 days')`)));
    if ((counts?.open ?? 0) >= limits.max_open_per_agent) {
      throw new Problem('task-limit', `agent ${agent.name} already holds ${limits.max_open_per_agent} open tasks; close finished ones first`, {
        extensions: { limit: 'max_open_per_agent', max: limits.max_open_per_agent },
      });
    }
    if ((counts?.today ?? 0) >= limits.max_per_day_per_agent) {
      throw new Problem('task-limit', `agent ${agent.name} opened ${limits.max_per_day_per_agent} tasks today (UTC)`, {
        extensions: { limit: 'max_per_day_per_agent', max: limits.max_per_day_per_agent },
      });
    }
    const [row] = await tx
      .insert(tasks)
      .values({ id: newId('task'), agentId: agent.id, description, expiresAt: sql`now() + ${`${limits.ttl_seconds} seconds`}::interval` })
      .returning();
    await appendEvents(tx, [
      { type: 'task.opened', actor: `agent:${agent.id}`, agentId: agent.id, data: { task_id: row!.id, description, expires_at: row!.expiresAt.toISOString() } },
    ]);
    return row!;
  });
}

export async function closeTask(db: Db, agent: Agent, taskId: string): Promise<TaskRow> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(tasks)
      .set({ status: 'closed', closedAt: sql`now()` })
      .where(and(eq(tasks.id, taskId), eq(tasks.agentId, agent.id), eq(tasks.status, 'open')))
      .returning();
    if (!row) {
      const existing = await findTask(tx, agent, taskId);
      if (!existing) throw new Problem('not-found', 'no such task');
      return existing; // closing a closed task is a no-op
    }
    await appendEvents(tx, [{ type: 'task.closed', actor: `agent:${agent.id}`, agentId: agent.id, data: { task_id: taskId } }]);
    return row;
  });
}

/** Another agent's task is indistinguishable from a missing one. */
export async function findTask(db: DbOrTx, agent: Pick<Agent, 'id'>, taskId: string): Promise<TaskRow | undefined> {
  const [row] = await db.select().from(tasks).where(and(eq(tasks.id, taskId), eq(tasks.agentId, agent.id))).limit(1);
  return row;
}

/** The intake's task step: the request's task must be this agent's, open and unexpired. */
export async function requireOpenTask(db: DbOrTx, agent: Pick<Agent, 'id'>, taskId: string): Promise<TaskRow> {
  const row = await findTask(db, agent, taskId);
  if (!row) throw new Problem('task-not-open', `task ${taskId.slice(0, 64)} is not one of this agent's tasks`, { extensions: { task_id: taskId.slice(0, 64) } });
  const status = taskStatus(row);
  if (status !== 'open') throw new Problem('task-not-open', `task ${row.id} is ${status}`, { extensions: { task_id: row.id, task_status: status } });
  return row;
}
