import { and, eq, gte, sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { actions } from '../db/schema';
import type { Agent } from '../auth/agents';
import { budgetCountersFor, type BudgetOverrun } from '../controls/budgets';
import type { FileConfig } from '../config/file-config';
import type { Prepared } from '../executor/prepare';
import type { ClaimConflict, PolicyBundle, PolicyInput } from '../policy';
import type { Requester } from './requester';
import type { CreateActionRequest } from './schemas';

/** The facts a decision reads besides params, as stored on the action (`actions.facts`) for release re-checks. */
export type StoredFacts = {
  plan: Record<string, unknown> | null;
  agent: { id: string; name: string; owner: string; tags: string[] };
  requester: Requester | null;
  usage?: Record<string, unknown>;
  /** The agent's claims that contradicted these facts (the request was denied for them). */
  claim_conflicts?: ClaimConflict[];
  /** The `on_exceed: escalate` budgets it would exceed: why a human is asked (src/intake/budget-overrun.ts). */
  budget_overrun?: BudgetOverrun[];
};

/**
 * Gathers the facts of one request: what the executor's prepare step said (`plan`), the agent and the requester
 * as the server knows them, and (only for bundles that read it, as it costs a query) the agent's usage.
 */
export async function gatherFacts(
  db: Db,
  bundle: PolicyBundle,
  config: Pick<FileConfig, 'budgets'>,
  s: { agent: Agent; requester: Requester | null; prepared: Prepared | null; taskId: string | null },
): Promise<StoredFacts> {
  const facts: StoredFacts = {
    plan: s.prepared?.facts ?? null,
    agent: { id: s.agent.id, name: s.agent.name, owner: s.agent.owner, tags: s.agent.tags ?? [] },
    requester: s.requester,
  };
  if (bundle.readsFacts('usage')) facts.usage = await usageOf(db, config, s.agent.id, s.taskId);
  return facts;
}

export function policyInput(req: Pick<CreateActionRequest, 'action_class' | 'params' | 'context'>, facts: StoredFacts): PolicyInput {
  return {
    action_class: req.action_class,
    params: req.params,
    context: req.context,
    plan: facts.plan,
    agent: facts.agent,
    requester: facts.requester,
    usage: facts.usage,
  };
}

/** The agent's usage so far: actions today and in the last hour, its budgets' counters, its task's actions. */
async function usageOf(db: Db, config: Pick<FileConfig, 'budgets'>, agentId: string, taskId: string | null): Promise<Record<string, unknown>> {
  const [counts] = await db
    .select({
      today: sql<number>`count(*) filter (where ${actions.createdAt} >= date_trunc('day', now() at time zone 'utc') at time zone 'utc')::int`,
      lastHour: sql<number>`count(*) filter (where ${actions.createdAt} > now() - interval '1 hour')::int`,
      task: taskId ? sql<number>`count(*) filter (where ${actions.taskId} = ${taskId})::int` : sql<number>`0`,
    })
    .from(actions)
    .where(and(eq(actions.agentId, agentId), gte(actions.createdAt, sql`least(date_trunc('day', now() at time zone 'utc') at time zone 'utc', now() - interval '1 hour')`)));
  const day = new Date().toISOString().slice(0, 10);
  const budgets: Record<string, unknown> = {};
  for (const row of await budgetCountersFor(db, agentId)) {
    const budget = config.budgets?.find((b) => b.name === row.budget);
    const current = row.window === day || (taskId !== null && row.scopeKey === `${agentId}/${taskId}`);
    if (!budget || !current) continue;
    const used = Number(row.reserved) + Number(row.spent);
    budgets[row.budget] = { reserved: Number(row.reserved), spent: Number(row.spent), used, max: budget.max, remaining: Math.max(0, budget.max - used) };
  }
  return {
    actions_today: counts?.today ?? 0,
    actions_last_hour: counts?.lastHour ?? 0,
    budgets,
    ...(taskId ? { task: { id: taskId, actions: counts?.task ?? 0 } } : {}),
  };
}
