import { toCsv } from '../lib/csv';
import type { Review } from './build';

const cell = (v: unknown) => String(v ?? '—').replace(/\|/g, '\\|').replace(/\n/g, ' ');
const table = (head: string[], rows: unknown[][]) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
const outcomes = (o: Record<string, number>) =>
  Object.entries(o)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${k} ${n}`)
    .join(', ') || 'none';

/** The review as a Markdown document for the reviewers' sign-off. */
export function reviewMarkdown(r: Review): string {
  const out: string[] = [];
  out.push(`# Access and policy review, ${r.period.since.slice(0, 10)} to ${r.period.until.slice(0, 10)}`);
  out.push('');
  out.push(`Generated ${r.generated_at} from the evidence store. Policy bundle in review: \`${r.policy_version.slice(0, 19)}…\`.`);
  out.push(`${r.totals.actions} action(s) in the period, ${r.totals.refused_requests} request(s) refused before becoming actions, ${r.totals.default_denied} denied by default (no rule).`);
  out.push('');
  out.push('## Agents');
  out.push('');
  out.push(
    table(
      ['agent', 'owner', 'status', 'scopes', 'token age (days)', 'last use', 'scopes unused in period', 'actions by outcome', 'refused'],
      r.agents.map((a) => [a.name, a.owner || '(none)', a.status, a.scopes.join(', '), a.token_age_days ?? 'no active token', a.last_used_at ?? 'never', a.unused_scopes.join(', ') || 'none', outcomes(a.actions_by_outcome), a.refused]),
    ),
  );
  out.push('');
  out.push('## Policy rules');
  out.push('');
  out.push(table(['rule', 'decision', 'decided in period', 'finding'], r.rules.map((x) => [x.rule_id, x.decision, x.decided, finding(x)])));
  out.push('');
  out.push(`Never matched in the period: ${r.rules_never_matched.length ? r.rules_never_matched.map((id) => `\`${id}\``).join(', ') : 'none'}.`);
  out.push(`Matching everything: ${r.rules_matching_everything.length ? r.rules_matching_everything.map((id) => `\`${id}\``).join(', ') : 'none'}.`);
  out.push('');
  out.push('## Approvers');
  out.push('');
  out.push(
    r.approvers.length
      ? table(['approver', 'approved', 'denied', 'median s to decide', 'p90 s to decide', 'max s'], r.approvers.map((a) => [a.approver, a.approvals, a.denials, a.median_seconds_to_decide, a.p90_seconds_to_decide, a.max_seconds_to_decide]))
      : 'No approvals were given in the period.',
  );
  out.push('');
  out.push(`## Tokens overdue for rotation (older than ${r.rotate_after_days} days)`);
  out.push('');
  out.push(
    r.tokens_overdue.length
      ? table(['agent', 'token', 'created', 'expires'], r.tokens_overdue.map((t) => [t.agent, `${t.display_prefix}… (${t.id})`, t.created_at, t.expires_at ?? 'never']))
      : 'None.',
  );
  out.push('');
  out.push('Sign-off: reviewer ______________________  date __________');
  return `${out.join('\n')}\n`;
}

function finding(x: Review['rules'][number]): string {
  const f: string[] = [];
  if (x.decided === 0) f.push('never matched');
  if (x.catch_all) f.push('catch-all glob');
  if (x.decided_all) f.push('decided every action');
  return f.join('; ');
}

/** The review's tables as CSV files (name → contents). */
export function reviewCsv(r: Review): Record<string, string> {
  return {
    'review-agents.csv': toCsv(
      ['agent', 'agent_id', 'owner', 'status', 'scopes', 'active_tokens', 'token_age_days', 'last_used_at', 'unused_scopes', 'actions_by_outcome', 'refused', 'period_since', 'period_until'],
      r.agents.map((a) => ({
        agent: a.name,
        agent_id: a.id,
        owner: a.owner,
        status: a.status,
        scopes: a.scopes.join(' '),
        active_tokens: a.active_tokens,
        token_age_days: a.token_age_days,
        last_used_at: a.last_used_at,
        unused_scopes: a.unused_scopes.join(' '),
        actions_by_outcome: outcomes(a.actions_by_outcome),
        refused: a.refused,
        period_since: r.period.since,
        period_until: r.period.until,
      })),
    ),
    'review-rules.csv': toCsv(
      ['rule_id', 'decision', 'file', 'decided', 'never_matched', 'catch_all', 'decided_all', 'policy_version'],
      r.rules.map((x) => ({ ...x, never_matched: x.decided === 0, policy_version: r.policy_version })),
    ),
    'review-approvers.csv': toCsv(['approver', 'approvals', 'denials', 'median_seconds_to_decide', 'p90_seconds_to_decide', 'max_seconds_to_decide'], r.approvers),
    'review-tokens-overdue.csv': toCsv(['agent', 'id', 'display_prefix', 'created_at', 'expires_at'], r.tokens_overdue),
  };
}
