import { and, eq, ne, sql } from 'drizzle-orm';
import type { FileConfig } from '../config/file-config';
import type { Tx } from '../db/client';
import { actions, agents, budgetCounters, budgetReservations, type ActionRow } from '../db/schema';
import { isProblem } from '../lib/errors';
import type { ReleaseControls } from '../release';
import { budgetClaims, reserveClaim } from './budgets';
import { planFacts } from '../executor/prepare';

/**
 * Budgets asked again at release, inside the claim transaction (lifecycle: "re-check at release … budget").
 * The reservation made at acceptance normally settles it; this catches what changed since:
 * - a budget lowered by an operator: the action is released only if what is already spent plus its own
 *   reservation still fits the new `max` (so lowering a budget stops queued spending at once);
 * - a budget added after acceptance: the action reserves now, or is refused if it does not fit.
 * A refusal ends the action `refused`, which gives its reservations back (transitionAction).
 */
export function budgetReleaseControls(config: Pick<FileConfig, 'budgets'>): ReleaseControls {
  return {
    // `check` has something to ask only of an action some budget counts (or cannot count: it refuses those).
    applies(row: ActionRow, agent: { name: string }) {
      if (!config.budgets?.length) return false;
      try {
        return budgetClaims(config, subjectOf(row, agent.name), row.createdAt).length > 0;
      } catch {
        return true;
      }
    },
    async check(tx: Tx, row: ActionRow) {
      if (!config.budgets?.length) return null;
      const [agent] = await tx.select({ name: agents.name }).from(agents).where(eq(agents.id, row.agentId)).limit(1);
      const subject = subjectOf(row, agent?.name ?? '');
      let claims;
      try {
        claims = budgetClaims(config, subject, row.createdAt);
      } catch (e) {
        if (isProblem(e)) return { kind: 'refuse', code: 'budget-exhausted', reason: `a budget cannot count this action: ${e.message}` };
        throw e;
      }
      for (const c of claims) {
        const [held] = await tx
          .select()
          .from(budgetReservations)
          .where(and(eq(budgetReservations.actionId, row.id), eq(budgetReservations.budget, c.budget.name)))
          .limit(1);
        if (!held) {
          try {
            await reserveClaim(tx, c, subject, row.id);
          } catch (e) {
            if (isProblem(e)) return { kind: 'refuse', code: 'budget-exhausted', reason: e.message };
            throw e;
          }
          continue;
        }
        // Not yet settled; an overrun a human admitted (on_exceed: escalate) is released as approved.
        if (held.state !== 'reserved' || held.overrun) continue;
        const [counter] = await tx
          .select()
          .from(budgetCounters)
          .where(and(eq(budgetCounters.budget, held.budget), eq(budgetCounters.scopeKey, held.scopeKey), eq(budgetCounters.window, held.window)))
          .for('update')
          .limit(1);
        // Spent, plus what other releases already claimed (executing) will spend. The counter lock above
        // serialises concurrent claims, so the second one sees the first as executing.
        const [inflight] = await tx
          .select({ total: sql<string>`coalesce(sum(${budgetReservations.amount}), 0)` })
          .from(budgetReservations)
          .innerJoin(actions, eq(actions.id, budgetReservations.actionId))
          .where(
            and(
              eq(budgetReservations.budget, held.budget),
              eq(budgetReservations.scopeKey, held.scopeKey),
              eq(budgetReservations.window, held.window),
              eq(budgetReservations.state, 'reserved'),
              eq(actions.status, 'executing'),
              ne(actions.id, row.id),
            ),
          );
        const spent = Number(counter?.spent ?? 0) + Number(inflight?.total ?? 0);
        if (spent + Number(held.amount) > c.budget.max) {
          return {
            kind: 'refuse',
            code: 'budget-exhausted',
            reason: `budget ${c.budget.name} now allows ${c.budget.max}${c.budget.unit ? ` ${c.budget.unit}` : ''}; ${spent} is already spent or being spent and this action needs ${Number(held.amount)}`,
          };
        }
      }
      return null;
    },
  };
}

/** What a budget counts an action by: its agent, class, task, params and the prepare step's facts. */
function subjectOf(row: ActionRow, agentName: string) {
  return { agentId: row.agentId, agentName, actionClass: row.actionClass, taskId: row.taskId, params: row.params, plan: planFacts(row) };
}
