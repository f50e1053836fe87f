import type { AuditEventView } from './event-view';

type Data = Record<string, unknown>;
const s = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v));

/** One human sentence per event type: who did what, and why. Unknown types fall back to their data. */
export function describeEvent(e: Pick<AuditEventView, 'type' | 'actor' | 'data'>): string {
  const d = e.data as Data;
  switch (e.type) {
    case 'action.requested':
      return `${s(d.agent_name) || e.actor} asked for ${s(d.action_class)}${d.on_behalf_of ? ` on behalf of ${s(d.on_behalf_of)}` : ''}${d.task_id ? ` in task ${s(d.task_id)}` : ''}${d.dry_run ? ' (dry run)' : ''}: "${s(d.justification)}" — params ${s(d.params)}${d.context && Object.keys(d.context as Data).length ? `, claims ${s(d.context)}` : ''}, payload ${s(d.payload_hash).slice(0, 12)}`;
    case 'action.prepared':
      return `executor ${s(d.executor)} prepared it: facts ${s(d.facts)}${d.preview ? `, preview "${s(d.preview)}"` : ''}, plan ${s(d.plan_hash).slice(0, 12)}`;
    case 'policy.decided': {
      const esc = d.escalation as Data | null | undefined;
      const via = esc ? ` → ${s(esc.via)}, ${s(esc.approvals ?? 1)} approval(s), timeout ${s(esc.timeout_seconds)} s` : '';
      const conflicts = d.claim_conflicts as Data[] | undefined;
      const contradicted = conflicts?.length ? ` — the agent's claims contradicted the facts: ${conflicts.map((c) => `${s(c.claim)}=${s(c.claimed)} vs ${s(c.fact)}=${s(c.actual)}`).join('; ')}` : '';
      return `policy decided ${s(d.decision)} by rule ${s(d.rule_id) || '(none)'}${via}: ${s(d.reasoning)}${contradicted}`;
    }
    case 'commit.plan_drift':
      return `not executed: plan drift (approved plan ${s(d.approved_plan_hash).slice(0, 12)}, executor now plans ${s(d.fresh_plan_hash).slice(0, 12)})`;
    case 'task.opened':
      return `task ${s(d.task_id)} opened${d.description ? ` ("${s(d.description)}")` : ''}`;
    case 'task.closed':
      return `task ${s(d.task_id)} closed`;
    case 'approval.card_posted':
      return `approval card posted to ${s(d.channel)} for ${s(d.group)}`;
    case 'approval.recorded':
      return `${e.actor} ${d.verdict === 'approve' ? 'approved' : 'denied'}${d.reason ? ` ("${s(d.reason)}")` : ''} — ${s(d.approvals)} of ${s(d.required)} approvals in ${s(d.group)}`;
    case 'approval.refused':
      return `${e.actor}'s ${s(d.verdict)} was refused (${s(d.reason)}): ${s(d.detail)}`;
    case 'action.approved':
      return d.by === 'policy'
        ? `approved by policy (rule ${s(d.rule_id)})`
        : d.by === 'grant'
          ? `approved by standing grant ${s(d.grant_id)} of ${(d.approvers as string[] | undefined)?.join(', ') ?? '?'} (given on ${s(d.origin_action_id)}; use ${s(d.use)} of ${s(d.max_count)})`
          : `approved by ${(d.approvers as string[] | undefined)?.join(', ') ?? e.actor} (quorum ${s(d.quorum)} of ${s(d.group)})`;
    case 'action.edited': {
      const changes = (d.changes as Data[] | undefined) ?? [];
      return `${e.actor} edited the payload before approving${d.reason ? ` ("${s(d.reason)}")` : ''}: ${changes.map((c) => `${s(c.path)} ${c.before_absent ? '(absent)' : s(c.before)} → ${c.after_absent ? '(absent)' : s(c.after)}`).join('; ')} — payload ${s(d.previous_payload_hash).slice(0, 12)} → ${s(d.payload_hash).slice(0, 12)}; policy decided ${s(d.decision)} by rule ${s(d.rule_id) || '(none)'}${d.rerouted_to ? `, sent to ${s(d.rerouted_to)}` : ''}`;
    }
    case 'approval.edit_refused':
      return `${e.actor}'s edit was refused (${s(d.reason)}): ${s(d.detail)}`;
    case 'grant.created':
      return `standing grant ${s(d.grant_id)} given by ${(d.approvers as string[] | undefined)?.join(', ') ?? e.actor}: up to ${s(d.max_count)} similar requests until ${s(d.expires_at)}`;
    case 'grant.used':
      return `standing grant ${s(d.grant_id)} approved ${s(d.action_id)} (use ${s(d.use)} of ${s(d.max_count)})`;
    case 'grant.ended':
      return `standing grant ${s(d.grant_id)} ended (${s(d.reason)}) after ${s(d.used)} of ${s(d.max_count)} uses${e.actor !== 'system' ? ` by ${e.actor}` : ''}`;
    case 'rollback.requested':
      return `${e.actor} asked to roll it back: compensating action ${s(d.rollback_action_id)} (${s(d.action_class)}), ${s(d.status)}`;
    case 'budget.overrun':
      return `budget ${s(d.budget)} would be exceeded (${s(d.would_be)} of ${s(d.max)}${d.unit ? ` ${s(d.unit)}` : ''}): sent to ${s(d.via)} instead of refused`;
    case 'action.denied':
      return `denied by ${s(d.by) || e.actor}${d.reason ? `: ${s(d.reason)}` : ''}`;
    case 'action.expired':
      return `expired without a decision (timeout at ${s(d.expires_at)}; ${s(d.on_timeout)})`;
    case 'action.cancelled':
      return `cancelled by ${e.actor}${d.reason ? `: ${s(d.reason)}` : ''}`;
    case 'commit.queued':
      return `queued for executor ${s(d.executor)}`;
    case 'commit.started': {
      const tool = d.tool as Data | undefined;
      return `released to executor ${s(d.executor)}${tool ? ` (${s(tool.method)} ${s(tool.endpoint)}, idempotency key ${s(tool.idempotency_key)})` : ''}, attempt ${s(d.attempt)}`;
    }
    case 'commit.sent_back':
      return `sent back for approval at release (${s(d.reason)}) → ${s(d.via)}`;
    case 'commit.cancelled':
      return `not released, cancelled: ${s(d.reason)}`;
    case 'approval.escalated':
      return `no answer from ${s(d.from)} after ${s(d.after_seconds)} s: escalated to ${s(d.to)}`;
    case 'agent.killed':
      return `kill switch: agent ${s(d.name)} suspended by ${e.actor}${d.reason ? ` (${s(d.reason)})` : ''}`;
    case 'agent.resumed':
      return `agent ${s(d.name)} resumed by ${e.actor}`;
    case 'audit.queried':
      return `${e.actor} read the audit trail (${s((d.query as Data | undefined)?.kind)})`;
    case 'audit.access_refused':
      return `${e.actor} was refused access to the audit trail`;
    case 'commit.succeeded':
      return `executor ${s(d.executor)} answered ${s(d.status)} in ${s(d.latency_ms)} ms: ${s(d.result)}`;
    case 'commit.retry':
      return `attempt ${s(d.attempt)} of ${s(d.max_attempts)} failed (${s(d.reason)}); will retry`;
    case 'commit.failed':
      return `failed at executor ${s(d.executor)}: ${s(d.reason)}`;
    case 'commit.refused':
      return `not released: ${s(d.reason)}`;
    case 'exception_record':
      return `exception ${s(d.kind)}: ${s(d.detail)} — mitigation: ${s(d.mitigation)}`;
    case 'request.refused':
      return `request refused (${s(d.reason)}) for ${s(d.action_class)}`;
    case 'policy.loaded':
      return `policy bundle loaded (${s(d.reason)})`;
    case 'policy.refused':
      return `policy bundle refused (${s(d.reason)}); last good bundle kept`;
    default:
      return `${e.type} ${s(d)}`;
  }
}

/** A readable timeline for a terminal: time, actor, what happened. */
export function renderTimeline(events: AuditEventView[]): string {
  if (events.length === 0) return 'no events';
  const first = events[0]!;
  const head = [
    `action ${first.action_id ?? '(none)'}  correlation ${first.correlation_id ?? '(none)'}  agent ${first.agent_id ?? '(none)'}`,
    `policy ${first.policy_version ?? '(none)'}`,
    '',
  ];
  const lines = events.map((e) => `${e.created_at}  #${e.seq}  ${e.type.padEnd(22)} ${e.actor.padEnd(20)} ${describeEvent(e)}`);
  return [...head, ...lines].join('\n');
}
