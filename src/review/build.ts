import type { DbOrTx } from '../db/client';
import type { PolicyBundle } from '../policy';
import { matchesActionClassGlob } from '../lib/action-class-glob';
import { actionFacts, agentFacts, approvalFacts, overdueTokens, refusalFacts, type ReviewPeriod, type TokenFacts } from './queries';

export type AgentReview = {
  name: string;
  id: string;
  owner: string;
  status: string;
  scopes: string[];
  active_tokens: number;
  /** Age of the oldest token that still authenticates, in whole days; null without one. */
  token_age_days: number | null;
  last_used_at: string | null;
  /** Scopes no action of the agent used in the period: candidates for removal. */
  unused_scopes: string[];
  /** Actions created in the period, by their status now. */
  actions_by_outcome: Record<string, number>;
  /** Requests refused before they became actions (out of scope, budget). */
  refused: number;
};

export type RuleReview = {
  rule_id: string;
  decision: string;
  file: string;
  decided: number;
  /** A glob of the rule matches every action class (`*.*`-like): it takes whatever no other rule names. */
  catch_all: boolean;
  /** The rule decided every action of the period (with at least one action). */
  decided_all: boolean;
};

export type ApproverReview = { approver: string; approvals: number; denials: number; median_seconds_to_decide: number | null; p90_seconds_to_decide: number | null; max_seconds_to_decide: number | null };

export type Review = {
  period: { since: string; until: string };
  generated_at: string;
  policy_version: string;
  rotate_after_days: number;
  totals: { actions: number; refused_requests: number; default_denied: number };
  agents: AgentReview[];
  rules: RuleReview[];
  rules_never_matched: string[];
  rules_matching_everything: string[];
  approvers: ApproverReview[];
  tokens_overdue: TokenFacts[];
};

const DAY_MS = 86_400_000;

/**
 * The periodic access and policy review: who may do what and whether they use it, which rules decide and
 * which never do, who answers approvals and how fast, which tokens should have been rotated.
 */
export async function buildReview(db: DbOrTx, bundle: PolicyBundle, period: ReviewPeriod, opts: { rotateAfterDays: number; now?: Date }): Promise<Review> {
  const now = opts.now ?? new Date();
  const [agents, actions, refusals, approvals, overdue] = await Promise.all([
    agentFacts(db),
    actionFacts(db, period),
    refusalFacts(db, period),
    approvalFacts(db, period),
    overdueTokens(db, new Date(now.getTime() - opts.rotateAfterDays * DAY_MS)),
  ]);
  const total = actions.reduce((s, a) => s + a.n, 0);

  const agentReviews: AgentReview[] = agents.map((a) => {
    const mine = actions.filter((x) => x.agent_id === a.id);
    const byOutcome: Record<string, number> = {};
    for (const x of mine) byOutcome[x.status] = (byOutcome[x.status] ?? 0) + x.n;
    const classes = [...new Set(mine.map((x) => x.action_class))];
    return {
      name: a.name,
      id: a.id,
      owner: a.owner,
      status: a.status,
      scopes: a.scopes,
      active_tokens: a.active_tokens,
      token_age_days: a.oldest_active_token_at ? Math.floor((now.getTime() - Date.parse(a.oldest_active_token_at)) / DAY_MS) : null,
      last_used_at: a.last_used_at,
      unused_scopes: a.scopes.filter((s) => !classes.some((c) => matchesActionClassGlob(s, c))),
      actions_by_outcome: byOutcome,
      refused: refusals.filter((r) => r.agent_id === a.id).reduce((s, r) => s + r.n, 0),
    };
  });

  const decidedBy = new Map<string, number>();
  for (const x of actions) if (x.rule_id) decidedBy.set(x.rule_id, (decidedBy.get(x.rule_id) ?? 0) + x.n);
  const rules: RuleReview[] = bundle.rules.map((r) => {
    const decided = decidedBy.get(r.id) ?? 0;
    return {
      rule_id: r.id,
      decision: r.decision,
      file: r.file,
      decided,
      catch_all: r.globs.some((g) => g.segments.every((s) => s === '*')),
      decided_all: total > 0 && decided === total,
    };
  });

  const approvers = new Map<string, ApproverReview>();
  for (const a of approvals) {
    const row = approvers.get(a.approver) ?? { approver: a.approver, approvals: 0, denials: 0, median_seconds_to_decide: null, p90_seconds_to_decide: null, max_seconds_to_decide: null };
    if (a.verdict === 'approve') row.approvals += a.n;
    else row.denials += a.n;
    // Per verdict the database gives exact percentiles; across both, the slower verdict's is reported (conservative).
    row.median_seconds_to_decide = maxOf(row.median_seconds_to_decide, a.median_seconds);
    row.p90_seconds_to_decide = maxOf(row.p90_seconds_to_decide, a.p90_seconds);
    row.max_seconds_to_decide = maxOf(row.max_seconds_to_decide, a.max_seconds);
    approvers.set(a.approver, row);
  }

  return {
    period: { since: period.since.toISOString(), until: period.until.toISOString() },
    generated_at: now.toISOString(),
    policy_version: bundle.version,
    rotate_after_days: opts.rotateAfterDays,
    totals: {
      actions: total,
      refused_requests: refusals.reduce((s, r) => s + r.n, 0),
      default_denied: actions.filter((x) => x.rule_id === null && x.decision === 'deny').reduce((s, x) => s + x.n, 0),
    },
    agents: agentReviews,
    rules,
    rules_never_matched: rules.filter((r) => r.decided === 0).map((r) => r.rule_id),
    rules_matching_everything: rules.filter((r) => r.catch_all || r.decided_all).map((r) => r.rule_id),
    approvers: [...approvers.values()],
    tokens_overdue: overdue,
  };
}

function maxOf(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
