import { and, desc, eq, gt, lt, sql } from 'drizzle-orm';
import type { Db, DbOrTx, Tx } from '../db/client';
import { actions, standingGrants, type ActionRow, type StandingGrantRow } from '../db/schema';
import { appendEvents, type AuditEventInput } from '../audit/append';
import { newId } from '../lib/ids';
import { boundsViolations, fixedPayloadHash, type VariableSpec } from './similar';

export type StandingRule = { max_duration_seconds: number; max_count: number; variable: VariableSpec };
export type GrantRequest = { duration_seconds: number; count: number };
export type GrantEndReason = 'exhausted' | 'expired' | 'revoked' | 'agent-killed' | 'policy-changed';

/** The rule's standing-grant limits as stored with a pending action's escalation, or null when it allows none. */
export function standingOf(action: Pick<ActionRow, 'escalation'>): StandingRule | null {
  const s = (action.escalation as { standing?: StandingRule; high_risk?: boolean } | null)?.standing;
  if (!s || (action.escalation as { high_risk?: boolean }).high_risk) return null;
  return s;
}

/** Why a requested grant is outside the rule's limits (null when it is within them). */
export function grantRequestProblem(action: Pick<ActionRow, 'escalation'>, req: GrantRequest): string | null {
  const s = standingOf(action);
  if (!s) return 'the rule for this action allows no standing grants';
  if (!Number.isInteger(req.count) || req.count < 1 || req.count > s.max_count) return `the count must be between 1 and ${s.max_count}`;
  if (!Number.isInteger(req.duration_seconds) || req.duration_seconds < 1 || req.duration_seconds > s.max_duration_seconds) {
    return `the duration must be at most ${s.max_duration_seconds} s`;
  }
  return null;
}

function endedEvent(g: StandingGrantRow, reason: GrantEndReason, actor: string, extra: Record<string, unknown> = {}): AuditEventInput {
  return {
    type: 'grant.ended',
    actor,
    actionId: g.originActionId,
    agentId: g.agentId,
    policyVersion: g.policyVersion,
    data: { grant_id: g.id, reason, used: g.usedCount, max_count: g.maxCount, ...extra },
  };
}

/**
 * Gives a grant when a pending action reaches its quorum and every approval counted asked for one: the
 * shortest duration and the smallest count among them (a grant needs the same quorum as the rule, so no
 * single approver can widen it). Called in the approving transaction; the evidence goes in with it.
 */
export async function createGrant(tx: Tx, action: ActionRow, approvals: Array<{ approver: string; grantRequest: GrantRequest | null }>): Promise<StandingGrantRow | null> {
  const standing = standingOf(action);
  if (!standing || approvals.length === 0 || approvals.some((a) => !a.grantRequest)) return null;
  const durationSeconds = Math.min(...approvals.map((a) => a.grantRequest!.duration_seconds), standing.max_duration_seconds);
  const count = Math.min(...approvals.map((a) => a.grantRequest!.count), standing.max_count);
  const [grant] = await tx
    .insert(standingGrants)
    .values({
      id: newId('grant'),
      originActionId: action.id,
      agentId: action.agentId,
      actionClass: action.actionClass,
      executor: action.executor ?? '',
      ruleId: action.ruleId ?? '',
      policyVersion: action.policyVersion,
      approverGroup: action.approverGroup ?? '',
      fixedHash: fixedPayloadHash({ actionClass: action.actionClass, executor: action.executor ?? '', params: action.params }, standing.variable),
      variable: standing.variable,
      approvers: approvals.map((a) => a.approver),
      maxCount: count,
      expiresAt: sql`now() + make_interval(secs => ${durationSeconds})` as unknown as Date,
    })
    .onConflictDoNothing()
    .returning();
  if (!grant) return null;
  await appendEvents(tx, [
    {
      type: 'grant.created',
      actor: approvals[approvals.length - 1]!.approver,
      actionId: action.id,
      correlationId: action.correlationId,
      agentId: action.agentId,
      policyVersion: action.policyVersion,
      data: {
        grant_id: grant.id,
        approvers: grant.approvers,
        group: grant.approverGroup,
        rule_id: grant.ruleId,
        max_count: grant.maxCount,
        duration_seconds: durationSeconds,
        expires_at: grant.expiresAt.toISOString(),
        variable: grant.variable,
        fixed_hash: grant.fixedHash,
      },
    },
  ]);
  return grant;
}

export type GrantCandidateInput = {
  agentId: string;
  actionClass: string;
  executor: string;
  ruleId: string;
  policyVersion: string;
  params: Record<string, unknown>;
};

/**
 * The active grant that would approve this request, if any: same agent, class, executor and rule, given
 * under the policy version in force, not used up, not past its time, the fixed part of the payload equal and
 * every variable field within its bounds. A read only: the use itself is useGrant's conditional update.
 */
export async function findGrantFor(db: DbOrTx, input: GrantCandidateInput, exclude: readonly string[] = []): Promise<StandingGrantRow | null> {
  const rows = await db
    .select()
    .from(standingGrants)
    .where(
      and(
        eq(standingGrants.agentId, input.agentId),
        eq(standingGrants.actionClass, input.actionClass),
        eq(standingGrants.status, 'active'),
        eq(standingGrants.executor, input.executor),
        eq(standingGrants.ruleId, input.ruleId),
        gt(standingGrants.expiresAt, sql`now()`),
        lt(standingGrants.usedCount, standingGrants.maxCount),
      ),
    )
    .orderBy(standingGrants.expiresAt)
    .limit(20);
  for (const g of rows) {
    if (exclude.includes(g.id)) continue;
    if (g.policyVersion !== input.policyVersion) continue;
    const variable = g.variable as VariableSpec;
    if (fixedPayloadHash(input, variable) !== g.fixedHash) continue;
    if (boundsViolations(input.params, variable).length > 0) continue;
    return g;
  }
  return null;
}

/**
 * Takes one use of a grant: one conditional update, so of two requests racing for the last use exactly one
 * gets it (the other is asked of humans as usual). The use that reaches the count ends the grant.
 */
export async function useGrant(tx: Tx, grantId: string): Promise<StandingGrantRow | null> {
  const [row] = await tx
    .update(standingGrants)
    .set({
      usedCount: sql`${standingGrants.usedCount} + 1`,
      status: sql`case when ${standingGrants.usedCount} + 1 >= ${standingGrants.maxCount} then 'ended' else 'active' end`,
      endedReason: sql`case when ${standingGrants.usedCount} + 1 >= ${standingGrants.maxCount} then 'exhausted' else null end`,
      endedAt: sql`case when ${standingGrants.usedCount} + 1 >= ${standingGrants.maxCount} then now() else null end`,
    })
    .where(
      and(
        eq(standingGrants.id, grantId),
        eq(standingGrants.status, 'active'),
        lt(standingGrants.usedCount, standingGrants.maxCount),
        gt(standingGrants.expiresAt, sql`now()`),
      ),
    )
    .returning();
  return row ?? null;
}

/** Ends one grant (revoked by a person, or found stale); nothing happens when it already ended. Returns it when this call ended it. */
export async function endGrant(tx: Tx, grantId: string, reason: GrantEndReason, actor: string, why: string | null = null): Promise<StandingGrantRow | null> {
  const [row] = await tx
    .update(standingGrants)
    .set({ status: 'ended', endedReason: reason, endedBy: actor, endedAt: sql`now()` })
    .where(and(eq(standingGrants.id, grantId), eq(standingGrants.status, 'active')))
    .returning();
  if (!row) return null;
  await appendEvents(tx, [endedEvent(row, reason, actor, why ? { why } : {})]);
  return row;
}

/** The kill switch: every active grant of the agent ends with it (in the kill's transaction). Returns their origin actions. */
export async function endGrantsOfAgent(tx: Tx, agentId: string, actor: string): Promise<string[]> {
  const rows = await tx
    .update(standingGrants)
    .set({ status: 'ended', endedReason: 'agent-killed', endedBy: actor, endedAt: sql`now()` })
    .where(and(eq(standingGrants.agentId, agentId), eq(standingGrants.status, 'active')))
    .returning();
  if (rows.length) await appendEvents(tx, rows.map((g) => endedEvent(g, 'agent-killed', actor)));
  return rows.map((g) => g.originActionId);
}

/**
 * Marks grants that ran out of time, or whose policy version is no longer in force, as ended (the periodic
 * tick): a use already refuses them, this makes their cards and listings say so. Returns their origin actions.
 */
export async function endStaleGrants(db: Db, policyVersion: string | null, limit = 200): Promise<string[]> {
  const stale = await db
    .select()
    .from(standingGrants)
    .where(
      and(
        eq(standingGrants.status, 'active'),
        policyVersion ? sql`(${standingGrants.expiresAt} <= now() or ${standingGrants.policyVersion} <> ${policyVersion})` : sql`${standingGrants.expiresAt} <= now()`,
      ),
    )
    .limit(limit);
  const ended: string[] = [];
  for (const g of stale) {
    const reason: GrantEndReason = g.expiresAt.getTime() <= Date.now() ? 'expired' : 'policy-changed';
    const row = await db.transaction((tx) => endGrant(tx, g.id, reason, 'system'));
    if (row) ended.push(row.originActionId);
  }
  return ended;
}

export async function getGrant(db: DbOrTx, grantId: string): Promise<StandingGrantRow | null> {
  const [row] = await db.select().from(standingGrants).where(eq(standingGrants.id, grantId)).limit(1);
  return row ?? null;
}

export async function grantOfOrigin(db: DbOrTx, actionId: string): Promise<StandingGrantRow | null> {
  const [row] = await db.select().from(standingGrants).where(eq(standingGrants.originActionId, actionId)).limit(1);
  return row ?? null;
}

/** Grants for the CLI and the admin API, newest first; optionally of one agent, optionally active only. */
export async function listGrants(db: DbOrTx, opts: { agentId?: string; active?: boolean; limit?: number } = {}): Promise<StandingGrantRow[]> {
  return db
    .select()
    .from(standingGrants)
    .where(and(opts.agentId ? eq(standingGrants.agentId, opts.agentId) : undefined, opts.active ? eq(standingGrants.status, 'active') : undefined))
    .orderBy(desc(standingGrants.createdAt))
    .limit(opts.limit ?? 100);
}

/** The JSON view of a grant (admin API, CLI --json). */
export function grantView(g: StandingGrantRow) {
  return {
    id: g.id,
    origin_action_id: g.originActionId,
    agent_id: g.agentId,
    action_class: g.actionClass,
    rule_id: g.ruleId,
    policy_version: g.policyVersion,
    approver_group: g.approverGroup,
    approvers: g.approvers,
    variable: g.variable,
    max_count: g.maxCount,
    used_count: g.usedCount,
    expires_at: g.expiresAt.toISOString(),
    status: g.status,
    ended_reason: g.endedReason,
    ended_by: g.endedBy,
    ended_at: g.endedAt?.toISOString() ?? null,
    created_at: g.createdAt.toISOString(),
  };
}

/** The action ids a grant approved, oldest first (the CLI's and `/audit`'s view of its uses). */
export async function usesOfGrant(db: DbOrTx, grantId: string) {
  return db.select({ id: actions.id, status: actions.status, createdAt: actions.createdAt }).from(actions).where(eq(actions.grantId, grantId)).orderBy(actions.createdAt);
}
