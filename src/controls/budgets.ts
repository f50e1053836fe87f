import { and, eq, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { budgetCounters, budgetReservations } from '../db/schema';
import type { FileConfig } from '../config/file-config';
import { matchesActionClassGlob } from '../lib/action-class-glob';
import { Problem } from '../lib/errors';
import type { BudgetConfig } from './budget-config';

/** What an action would count against budgets. */
export type BudgetSubject = {
  agentId: string;
  agentName: string;
  actionClass: string;
  /** The server-issued task the action belongs to; null counts against the agent's task-less budget of the day. */
  taskId: string | null;
  params: Record<string, unknown>;
  /** The facts of the executor's prepare step, when it prepared the action. */
  plan: Record<string, unknown> | null;
};

export type Claim = { budget: BudgetConfig; scopeKey: string; window: string; amount: string; resetsAt: string | null };

export type BudgetState = {
  name: string;
  per: BudgetConfig['per'];
  max: number;
  unit: string | null;
  counts: string;
  window: string;
  resets_at: string | null;
  scope: { agent_id: string; task_id?: string | null };
  reserved: number;
  spent: number;
  requested: number;
  remaining: number;
};

function valueAt(subject: BudgetSubject, path: string): unknown {
  const [root, ...rest] = path.split('.');
  let v: unknown = root === 'params' ? subject.params : (subject.plan ?? undefined);
  for (const key of rest) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function applies(b: BudgetConfig, s: BudgetSubject): boolean {
  if (b.agents && !b.agents.includes(s.agentName)) return false;
  if (b.action_classes && !b.action_classes.some((g) => matchesActionClassGlob(g, s.actionClass))) return false;
  if (b.when && !Object.entries(b.when).every(([path, want]) => valueAt(s, path) === want)) return false;
  return true;
}

/**
 * The budget counters an action would draw on, sorted so that every transaction locks counters in the
 * same order (no deadlocks). A summed value that is missing or not a non-negative number fails closed.
 */
export function budgetClaims(config: Pick<FileConfig, 'budgets'>, s: BudgetSubject, now = new Date()): Claim[] {
  const claims: Claim[] = [];
  const bad: Array<{ path: string; message: string }> = [];
  const day = now.toISOString().slice(0, 10);
  const nextMidnight = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString();
  for (const b of config.budgets ?? []) {
    if (!applies(b, s)) continue;
    let amount = '1';
    if (b.sum) {
      const v = valueAt(s, b.sum);
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        bad.push({ path: b.sum, message: `budget ${b.name} counts this value, so it must be a non-negative number` });
        continue;
      }
      amount = String(v);
    }
    claims.push(
      b.per === 'agent_day'
        ? { budget: b, scopeKey: s.agentId, window: day, amount, resetsAt: nextMidnight }
        : s.taskId
          ? { budget: b, scopeKey: `${s.agentId}/${s.taskId}`, window: 'task', amount, resetsAt: null }
          : // No task: the agent's one task-less budget of the day, so leaving tasks out never means a fresh budget.
            { budget: b, scopeKey: `${s.agentId}/no-task`, window: day, amount, resetsAt: nextMidnight },
    );
  }
  if (bad.length) {
    throw new Problem('validation-failed', bad.map((e) => `${e.path}: ${e.message}`).join('; '), { extensions: { errors: bad } });
  }
  return claims.sort((a, b) => (a.budget.name < b.budget.name ? -1 : a.budget.name > b.budget.name ? 1 : 0));
}

/**
 * The budget step of the intake, inside the creating transaction. `reserve` draws on every counter with
 * one conditional update each (`reserved + spent + amount <= max`, serialised by the row lock), so
 * concurrent requests can never overspend; `check` only verifies there is room (dry runs, refusals).
 * Throws 429 `budget-exhausted` with the budget's state; the caller's transaction then rolls back.
 */
export async function drawBudgets(
  tx: DbOrTx,
  config: Pick<FileConfig, 'budgets'>,
  s: BudgetSubject,
  actionId: string,
  mode: 'reserve' | 'check',
  /** Budgets (`on_exceed: escalate`) this action may exceed: a human is asked before it can run. */
  overrun: ReadonlySet<string> = new Set(),
): Promise<void> {
  for (const c of budgetClaims(config, s)) {
    const key = and(eq(budgetCounters.budget, c.budget.name), eq(budgetCounters.scopeKey, c.scopeKey), eq(budgetCounters.window, c.window));
    if (mode === 'check') {
      // A dry run of a request that would overrun such a budget is not refused: the real one would be asked of a human.
      if (c.budget.on_exceed === 'escalate') continue;
      const [row] = await tx.select().from(budgetCounters).where(key).limit(1);
      const used = Number(row?.reserved ?? 0) + Number(row?.spent ?? 0);
      if (used + Number(c.amount) > c.budget.max) throw exhausted(c, s, row?.reserved ?? '0', row?.spent ?? '0');
      continue;
    }
    await reserveClaim(tx, c, s, actionId, overrun.has(c.budget.name));
  }
}

/**
 * One conditional reservation on one counter (creating the counter row on first use); throws when it does not
 * fit. With `overrun` (an `on_exceed: escalate` budget the action is being escalated for) it is reserved even
 * beyond the max, marked as an overrun.
 */
export async function reserveClaim(tx: DbOrTx, c: Claim, s: BudgetSubject, actionId: string, overrun = false): Promise<void> {
  const key = and(eq(budgetCounters.budget, c.budget.name), eq(budgetCounters.scopeKey, c.scopeKey), eq(budgetCounters.window, c.window));
  await tx.insert(budgetCounters).values({ budget: c.budget.name, scopeKey: c.scopeKey, window: c.window }).onConflictDoNothing();
  const fits = sql`${budgetCounters.reserved} + ${budgetCounters.spent} + ${c.amount}::numeric <= ${String(c.budget.max)}::numeric`;
  const [took] = await tx
    .update(budgetCounters)
    .set({ reserved: sql`${budgetCounters.reserved} + ${c.amount}::numeric`, updatedAt: sql`now()` })
    .where(overrun ? key : and(key, fits))
    .returning();
  if (!took) {
    const [row] = await tx.select().from(budgetCounters).where(key).limit(1);
    throw exhausted(c, s, row?.reserved ?? '0', row?.spent ?? '0');
  }
  const beyond = overrun && Number(took.reserved) + Number(took.spent) > c.budget.max;
  await tx.insert(budgetReservations).values({ actionId, budget: c.budget.name, scopeKey: c.scopeKey, window: c.window, amount: c.amount, overrun: beyond });
}

/** A budget an action would exceed, as the card, the agent and the evidence show it. */
export type BudgetOverrun = {
  budget: string;
  via: string;
  max: number;
  unit: string | null;
  window: string;
  resets_at: string | null;
  used: number;
  requested: number;
  would_be: number;
  /** The same in words ("budget refunds: this would bring …"). */
  detail?: string;
};

/**
 * The `on_exceed: escalate` budgets this request would exceed now (read only; the reservation in the creating
 * transaction is what holds). Budgets that refuse are left to drawBudgets.
 */
export async function budgetOverruns(db: DbOrTx, config: Pick<FileConfig, 'budgets'>, s: BudgetSubject): Promise<BudgetOverrun[]> {
  const out: BudgetOverrun[] = [];
  for (const c of budgetClaims(config, s)) {
    if (c.budget.on_exceed !== 'escalate') continue;
    const key = and(eq(budgetCounters.budget, c.budget.name), eq(budgetCounters.scopeKey, c.scopeKey), eq(budgetCounters.window, c.window));
    const [row] = await db.select().from(budgetCounters).where(key).limit(1);
    const used = Number(row?.reserved ?? 0) + Number(row?.spent ?? 0);
    const requested = Number(c.amount);
    if (used + requested <= c.budget.max) continue;
    out.push({ budget: c.budget.name, via: c.budget.via!, max: c.budget.max, unit: c.budget.unit ?? null, window: c.window, resets_at: c.resetsAt, used, requested, would_be: used + requested });
  }
  return out;
}

function exhausted(c: Claim, s: BudgetSubject, reserved: string, spent: string): Problem {
  const state: BudgetState = {
    name: c.budget.name,
    per: c.budget.per,
    max: c.budget.max,
    unit: c.budget.unit ?? null,
    counts: c.budget.sum ?? 'invocations',
    window: c.window,
    resets_at: c.resetsAt,
    scope: c.budget.per === 'task' ? { agent_id: s.agentId, task_id: s.taskId } : { agent_id: s.agentId },
    reserved: Number(reserved),
    spent: Number(spent),
    requested: Number(c.amount),
    remaining: Math.max(0, c.budget.max - Number(reserved) - Number(spent)),
  };
  const what =
    c.budget.per === 'agent_day' ? `agent ${s.agentName} on ${c.window} (UTC)` : s.taskId ? `task ${s.taskId}` : `agent ${s.agentName}'s actions without a task on ${c.window} (UTC)`;
  return new Problem(
    'budget-exhausted',
    `budget ${c.budget.name} for ${what} has ${state.remaining} of ${state.max}${state.unit ? ` ${state.unit}` : ''} left; this action needs ${state.requested}`,
    // `on_exceed` tells the intake a concurrent request took the room it had seen: plan again as an overrun.
    { extensions: { budget: state, ...(c.budget.on_exceed === 'escalate' ? { on_exceed: 'escalate' } : {}) } },
  );
}

const RELEASED_ON = new Set(['denied', 'expired', 'cancelled', 'refused', 'failed', 'plan_drift']);

/** What reaching `status` does to an action's reservations: spent on `committed`, released on every other end, nothing otherwise. */
export function settlementOf(status: string): 'spent' | 'released' | null {
  return status === 'committed' ? 'spent' : RELEASED_ON.has(status) ? 'released' : null;
}

/** Reservations a transition has just settled (their rows already marked), to be applied to their counters. */
export type SettledReservation = { budget: string; scopeKey: string; window: string; amount: string; state: 'spent' | 'released' };

/**
 * Settles an action's reservations when it reaches an end: spent on `committed`, given back on every
 * other end. Called by transitionAction in the transition's own transaction, so every path settles and
 * a reservation is settled once (`WHERE state = 'reserved'`).
 */
export async function settleBudgets(tx: DbOrTx, actionId: string, status: string): Promise<void> {
  const outcome = settlementOf(status);
  if (!outcome) return;
  const settled = await tx
    .update(budgetReservations)
    .set({ state: outcome, settledAt: sql`now()` })
    .where(and(eq(budgetReservations.actionId, actionId), eq(budgetReservations.state, 'reserved')))
    .returning();
  await settleCounters(
    tx,
    settled.map((r) => ({ budget: r.budget, scopeKey: r.scopeKey, window: r.window, amount: r.amount, state: outcome })),
  );
}

/**
 * Moves settled reservations out of their counters' `reserved` (into `spent` when spent). Counters are
 * updated one at a time in one global order (budget, scope, window), so transactions settling several
 * actions at once (the release's group commit) lock counters in the same order as everyone else.
 */
export async function settleCounters(tx: DbOrTx, settled: SettledReservation[]): Promise<void> {
  if (settled.length === 0) return;
  const sorted = [...settled].sort(compareCounter);
  for (const r of sorted) {
    await tx
      .update(budgetCounters)
      .set({
        reserved: sql`${budgetCounters.reserved} - ${r.amount}::numeric`,
        ...(r.state === 'spent' ? { spent: sql`${budgetCounters.spent} + ${r.amount}::numeric` } : {}),
        updatedAt: sql`now()`,
      })
      .where(and(eq(budgetCounters.budget, r.budget), eq(budgetCounters.scopeKey, r.scopeKey), eq(budgetCounters.window, r.window)));
  }
}

function compareCounter(a: Pick<SettledReservation, 'budget' | 'scopeKey' | 'window'>, b: Pick<SettledReservation, 'budget' | 'scopeKey' | 'window'>): number {
  for (const k of ['budget', 'scopeKey', 'window'] as const) {
    if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  }
  return 0;
}

/** Current counters for an agent (admin API and tests). */
export async function budgetCountersFor(db: DbOrTx, agentId: string) {
  return db
    .select()
    .from(budgetCounters)
    .where(sql`${budgetCounters.scopeKey} = ${agentId} or ${budgetCounters.scopeKey} like ${`${agentId}/%`}`);
}
