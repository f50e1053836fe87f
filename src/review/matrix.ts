import type { FileConfig } from '../config/file-config';
import type { PolicyBundle } from '../policy';
import { parseGlob, type Glob } from '../policy/glob';
import { globCovers, globIntersection } from '../policy/glob-relations';
import { toCsv } from '../lib/csv';

export type MatrixAgent = { name: string; status: string; scopes: string[]; rate_limit_per_minute: number | null };

export type MatrixRow = {
  action_class: string;
  source: 'policy' | 'contract';
  rule_id: string;
  decision: string;
  conditions: string;
  approver_group: string;
  approvers: string;
  quorum: number | '';
  high_risk: boolean | '';
  timeout_seconds: number | '';
  escalate_to: string;
  executor: string;
  contract: string;
  budgets: string;
  executor_rate_limit: string;
  agents_with_scope: string;
};

export const MATRIX_COLUMNS: ReadonlyArray<keyof MatrixRow> = [
  'action_class',
  'source',
  'rule_id',
  'decision',
  'conditions',
  'approver_group',
  'approvers',
  'quorum',
  'high_risk',
  'timeout_seconds',
  'escalate_to',
  'executor',
  'contract',
  'budgets',
  'executor_rate_limit',
  'agents_with_scope',
];

const glob = (text: string): Glob | null => {
  const p = parseGlob(text);
  return p.ok ? p.glob : null;
};
const overlaps = (a: string, b: string) => {
  const ga = glob(a);
  const gb = glob(b);
  return !!ga && !!gb && globIntersection(ga, gb) !== null;
};
const covers = (outer: string, inner: string) => {
  const go = glob(outer);
  const gi = glob(inner);
  return !!go && !!gi && globCovers(go, gi);
};

/**
 * The scope-and-approval matrix: one row per action class a policy rule or a tool contract names, with what
 * policy decides, who must approve and how many, the limits that apply and which agents hold a scope for it
 * (`name (partial)` when the scope covers only part of the class glob; `:N/min` the agent's own rate limit).
 */
export function buildMatrix(bundle: PolicyBundle, config: FileConfig, agents: MatrixAgent[], defaultPerMinute: number): MatrixRow[] {
  const rows: MatrixRow[] = [];
  const named = new Set<string>();
  const common = (actionClass: string) => {
    const executor = config.executors.find((e) => e.action_classes.some((p) => covers(p, actionClass))) ?? config.executors.find((e) => e.action_classes.some((p) => overlaps(p, actionClass)));
    const contract = executor ? Object.keys(executor.contracts).find((p) => overlaps(p, actionClass)) : undefined;
    return {
      executor: executor?.name ?? '(none: refused as no-executor)',
      contract: contract ?? '',
      budgets: config.budgets
        .filter((b) => !b.action_classes || b.action_classes.some((p) => overlaps(p, actionClass)))
        .map((b) => `${b.name}: max ${b.max}${b.unit ? ` ${b.unit}` : ''} per ${b.per}${b.sum ? ` (sum of ${b.sum})` : ''}${b.agents ? ` [agents ${b.agents.join(' ')}]` : ''}`)
        .join('; '),
      executor_rate_limit: executor?.rate_limit ? `${executor.rate_limit.max} per ${executor.rate_limit.per_seconds}s` : '',
      agents_with_scope: agents
        .filter((a) => a.scopes.some((s) => overlaps(s, actionClass)))
        .map((a) => {
          const full = a.scopes.some((s) => covers(s, actionClass));
          return `${a.name}${full ? '' : ' (partial)'}${a.status !== 'active' ? ` [${a.status}]` : ''}:${a.rate_limit_per_minute ?? defaultPerMinute}/min`;
        })
        .join('; '),
    };
  };
  for (const rule of bundle.rules) {
    const esc = rule.escalation;
    const group = esc ? config.approver_groups[esc.via] : undefined;
    for (const g of rule.globs) {
      named.add(g.text);
      rows.push({
        action_class: g.text,
        source: 'policy',
        rule_id: rule.id,
        decision: rule.decision,
        conditions: rule.source.conditions?.length ? JSON.stringify(rule.source.conditions) : '',
        approver_group: esc?.via ?? '',
        approvers: esc ? (group ? [...group.members, ...(group.usergroup ? [`usergroup ${group.usergroup}`] : [])].join(' ') || '(no members)' : '(group not configured)') : '',
        quorum: esc?.approvals ?? '',
        high_risk: esc ? esc.high_risk : '',
        timeout_seconds: esc?.timeout_seconds ?? '',
        escalate_to: esc?.escalate_to ? `${esc.escalate_to.via} after ${esc.escalate_to.after_seconds}s` : '',
        ...common(g.text),
      });
    }
  }
  // Classes only a tool contract names: what policy would decide for them is shown by evaluating the glob's
  // own name when it is exact, otherwise it is left to the rules above (default deny when none matches).
  for (const ex of config.executors) {
    for (const pattern of Object.keys(ex.contracts)) {
      if (named.has(pattern)) continue;
      named.add(pattern);
      const exact = !pattern.split('.').includes('*');
      const d = exact ? bundle.evaluate({ action_class: pattern, context: {} }) : null;
      rows.push({
        action_class: pattern,
        source: 'contract',
        rule_id: d ? (d.rule_id ?? '(default deny)') : '(see policy rows)',
        decision: d?.decision ?? '',
        conditions: '',
        approver_group: d?.escalation?.via ?? '',
        approvers: '',
        quorum: d?.escalation?.approvals ?? '',
        high_risk: d?.escalation ? d.escalation.high_risk : '',
        timeout_seconds: d?.escalation?.timeout_seconds ?? '',
        escalate_to: '',
        ...common(pattern),
      });
    }
  }
  return rows;
}

export function matrixCsv(rows: MatrixRow[]): string {
  return toCsv(MATRIX_COLUMNS, rows);
}
