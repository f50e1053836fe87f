import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { execRows } from '../db/exec';

/** The period a review covers: [since, until). */
export type ReviewPeriod = { since: Date; until: Date };

export type AgentFacts = {
  id: string;
  name: string;
  owner: string;
  status: string;
  scopes: string[];
  rate_limit_per_minute: number | null;
  created_at: string;
  /** Oldest token still able to authenticate; its age is the agent's token age. */
  oldest_active_token_at: string | null;
  active_tokens: number;
  /** The agent's last request recorded anywhere in the evidence (not only in the period). */
  last_used_at: string | null;
};

export type ActionFacts = { agent_id: string; action_class: string; status: string; rule_id: string | null; decision: string; n: number };

export type ApprovalFacts = { approver: string; verdict: string; n: number; median_seconds: number | null; p90_seconds: number | null; max_seconds: number | null };

export type TokenFacts = { id: string; agent: string; display_prefix: string; created_at: string; expires_at: string | null };

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string).toISOString());

/** Every agent with its tokens' age and its last use (an action or a refused request in the evidence). */
export async function agentFacts(db: DbOrTx): Promise<AgentFacts[]> {
  const rows = await execRows<Record<string, unknown>>(
    db,
    sql`select a.id, a.name, a.owner, a.status, a.scopes, a.rate_limit_per_minute, a.created_at,
          (select min(t.created_at) from agent_tokens t where t.agent_id = a.id and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())) as oldest_active_token_at,
          (select count(*)::int from agent_tokens t where t.agent_id = a.id and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())) as active_tokens,
          (select max(e.created_at) from audit_events e where e.agent_id = a.id and e.actor = 'agent:' || a.id) as last_used_at
        from agents a order by a.name`,
  );
  return rows.map((r) => ({
    id: r.id as string,
    name: r.name as string,
    owner: r.owner as string,
    status: r.status as string,
    scopes: r.scopes as string[],
    rate_limit_per_minute: (r.rate_limit_per_minute as number | null) ?? null,
    created_at: iso(r.created_at)!,
    oldest_active_token_at: iso(r.oldest_active_token_at),
    active_tokens: Number(r.active_tokens),
    last_used_at: iso(r.last_used_at),
  }));
}

/** Actions created in the period, counted by agent, class, status and deciding rule. */
export async function actionFacts(db: DbOrTx, p: ReviewPeriod): Promise<ActionFacts[]> {
  const rows = await execRows<Record<string, unknown>>(
    db,
    sql`select agent_id, action_class, status, rule_id, decision, count(*)::int as n from actions
        where created_at >= ${p.since.toISOString()}::timestamptz and created_at < ${p.until.toISOString()}::timestamptz
        group by agent_id, action_class, status, rule_id, decision`,
  );
  return rows.map((r) => ({ agent_id: r.agent_id as string, action_class: r.action_class as string, status: r.status as string, rule_id: (r.rule_id as string | null) ?? null, decision: r.decision as string, n: Number(r.n) }));
}

/** Requests refused before an action existed (out of scope, budget), by agent and class, from the evidence. */
export async function refusalFacts(db: DbOrTx, p: ReviewPeriod): Promise<Array<{ agent_id: string; action_class: string; reason: string; n: number }>> {
  const rows = await execRows<Record<string, unknown>>(
    db,
    sql`select agent_id, data->>'action_class' as action_class, data->>'reason' as reason, count(*)::int as n from audit_events
        where type = 'request.refused' and created_at >= ${p.since.toISOString()}::timestamptz and created_at < ${p.until.toISOString()}::timestamptz
        group by 1, 2, 3`,
  );
  return rows.map((r) => ({ agent_id: r.agent_id as string, action_class: (r.action_class as string) ?? '', reason: (r.reason as string) ?? '', n: Number(r.n) }));
}

/** Each approver's answers in the period and how long after the request they came (seconds). */
export async function approvalFacts(db: DbOrTx, p: ReviewPeriod): Promise<ApprovalFacts[]> {
  const rows = await execRows<Record<string, unknown>>(
    db,
    sql`select ap.approver, ap.verdict, count(*)::int as n,
          percentile_cont(0.5) within group (order by extract(epoch from ap.created_at - a.created_at)) as median_seconds,
          percentile_cont(0.9) within group (order by extract(epoch from ap.created_at - a.created_at)) as p90_seconds,
          max(extract(epoch from ap.created_at - a.created_at)) as max_seconds
        from approvals ap join actions a on a.id = ap.action_id
        where ap.created_at >= ${p.since.toISOString()}::timestamptz and ap.created_at < ${p.until.toISOString()}::timestamptz
        group by ap.approver, ap.verdict order by ap.approver, ap.verdict`,
  );
  const num = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);
  return rows.map((r) => ({
    approver: r.approver as string,
    verdict: r.verdict as string,
    n: Number(r.n),
    median_seconds: num(r.median_seconds),
    p90_seconds: num(r.p90_seconds),
    max_seconds: num(r.max_seconds),
  }));
}

/** Tokens that still authenticate and were created before `cutoff`: due for rotation. */
export async function overdueTokens(db: DbOrTx, cutoff: Date): Promise<TokenFacts[]> {
  const rows = await execRows<Record<string, unknown>>(
    db,
    sql`select t.id, a.name as agent, t.display_prefix, t.created_at, t.expires_at from agent_tokens t join agents a on a.id = t.agent_id
        where t.revoked_at is null and (t.expires_at is null or t.expires_at > now()) and t.created_at < ${cutoff.toISOString()}::timestamptz
        order by t.created_at`,
  );
  return rows.map((r) => ({ id: r.id as string, agent: r.agent as string, display_prefix: r.display_prefix as string, created_at: iso(r.created_at)!, expires_at: iso(r.expires_at) }));
}
