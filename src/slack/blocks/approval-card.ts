import type { ActionRow, ApprovalRow } from '../../db/schema';
import { redact } from '../../audit/redact';
import { escapeCodeBlock, escapeMrkdwn, plain, truncate } from './escape';

export const APPROVE_ACTION_ID = 'countersign_approve';
export const DENY_ACTION_ID = 'countersign_deny';
export const SHORT_HASH_LENGTH = 12;

export type CardAgent = { name: string; owner: string };
export type Block = Record<string, unknown>;
export type CardMessage = { text: string; blocks: Block[] };

/** The value carried by the buttons: which action, and which payload the human was shown. */
export function buttonValue(action: Pick<ActionRow, 'id' | 'payloadHash'>): string {
  return JSON.stringify({ action_id: action.id, payload_hash: action.payloadHash });
}

export function parseButtonValue(value: string | undefined): { action_id: string; payload_hash: string } | null {
  if (!value) return null;
  try {
    const v = JSON.parse(value) as { action_id?: unknown; payload_hash?: unknown };
    if (typeof v.action_id === 'string' && typeof v.payload_hash === 'string') return { action_id: v.action_id, payload_hash: v.payload_hash };
  } catch {
    /* fall through */
  }
  return null;
}

function slackDate(d: Date): string {
  const unix = Math.floor(d.getTime() / 1000);
  return `<!date^${unix}^{date_short_pretty} {time}|${d.toISOString()}>`;
}

function blastRadius(action: ActionRow): string {
  const tc = action.context.target_count ?? action.params.target_count;
  return typeof tc === 'number' ? `${tc} target${tc === 1 ? '' : 's'}` : 'not stated';
}

function summaryBlocks(action: ActionRow, agent: CardAgent): Block[] {
  const params = JSON.stringify(redact(action.params), null, 2);
  const fields = [
    `*Agent*\n${escapeMrkdwn(agent.name)}${agent.owner ? ` (owner: ${escapeMrkdwn(agent.owner)})` : ''}`,
    `*Blast radius*\n${blastRadius(action)}`,
    `*Policy rule*\n\`${escapeMrkdwn(action.ruleId ?? 'none')}\``,
    `*Approver group*\n${escapeMrkdwn(action.approverGroup ?? '—')}${action.approvalsRequired > 1 ? ` (${action.approvalsRequired} approvals)` : ''}`,
  ];
  if (action.onBehalfOf) fields.push(`*On behalf of*\n${escapeMrkdwn(action.onBehalfOf)}`);
  if (action.expiresAt) fields.push(`*Expires*\n${slackDate(action.expiresAt)}`);
  return [
    { type: 'header', text: plain(`Approval: ${action.actionClass}`, 150) },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text: truncate(text, 2000) })) },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*Justification*\n${truncate(escapeMrkdwn(action.justification || '(none given)'), 1500)}` },
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*Parameters*\n\`\`\`${truncate(escapeCodeBlock(params), 2600)}\`\`\`` } },
    { type: 'section', text: { type: 'mrkdwn', text: `*Why this needs approval*\n${truncate(escapeMrkdwn(action.reasoning), 2800)}` } },
    {
      type: 'context',
      elements: [
        { type: 'mrkdwn', text: `Payload hash \`${action.payloadHash.slice(0, SHORT_HASH_LENGTH)}\`` },
        { type: 'mrkdwn', text: `Action \`${action.id}\`` },
        { type: 'mrkdwn', text: `Policy \`${escapeMrkdwn(action.policyVersion.slice(0, 16))}\`` },
      ],
    },
  ];
}

/** The interactive card posted to the approver group's channel. */
export function approvalCard(action: ActionRow, agent: CardAgent, approvalsSoFar = 0): CardMessage {
  const blocks = summaryBlocks(action, agent);
  if (action.approvalsRequired > 1) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `Approvals: ${approvalsSoFar} of ${action.approvalsRequired}` }] });
  }
  blocks.push({
    type: 'actions',
    block_id: 'countersign_decision',
    elements: [
      { type: 'button', action_id: APPROVE_ACTION_ID, style: 'primary', text: plain('Approve', 75), value: buttonValue(action) },
      { type: 'button', action_id: DENY_ACTION_ID, style: 'danger', text: plain('Deny', 75), value: buttonValue(action) },
    ],
  });
  return { text: `Approval needed: ${action.actionClass} requested by ${agent.name}`, blocks };
}

const OUTCOME_LINES: Record<string, string> = {
  approved: ':white_check_mark: *Approved*',
  queued: ':white_check_mark: *Approved*',
  executing: ':white_check_mark: *Approved*',
  committed: ':white_check_mark: *Approved*',
  failed: ':white_check_mark: *Approved*',
  refused: ':white_check_mark: *Approved*',
  denied: ':no_entry: *Denied*',
  expired: ':hourglass: *Expired* — nobody decided in time; the request is denied',
  cancelled: ':octagonal_sign: *Cancelled* by the kill switch',
};

/** The card after a decision: same facts, no buttons, and who decided when and why. */
export function decidedCard(action: ActionRow, agent: CardAgent, decisions: ApprovalRow[]): CardMessage {
  const blocks = summaryBlocks(action, agent);
  const lines: string[] = [OUTCOME_LINES[action.status] ?? `*${action.status}*`];
  for (const d of decisions) {
    const who = d.approver.startsWith('slack:') ? `<@${d.approver.slice(6)}>` : escapeMrkdwn(d.approver);
    const verb = d.verdict === 'approve' ? 'approved' : 'denied';
    lines.push(`${who} ${verb} ${slackDate(d.createdAt)}${d.reason ? `: ${escapeMrkdwn(truncate(d.reason, 500))}` : ''}`);
  }
  blocks.push({ type: 'section', block_id: 'countersign_outcome', text: { type: 'mrkdwn', text: truncate(lines.join('\n'), 3000) } });
  return { text: `${action.actionClass}: ${action.status.replace('_', ' ')}`, blocks };
}

/** The thread reply that reports what the executor did. */
export function outcomeReply(action: ActionRow): CardMessage {
  let text: string;
  if (action.status === 'committed') {
    const result = truncate(escapeCodeBlock(JSON.stringify(redact(action.result ?? null), null, 2)), 2500);
    text = `:rocket: Committed by executor \`${escapeMrkdwn(action.executor ?? '')}\` after ${action.attempts} attempt(s).\n\`\`\`${result}\`\`\``;
  } else if (action.status === 'failed') {
    text = `:x: Failed: ${escapeMrkdwn(truncate(String(action.failure?.reason ?? 'unknown'), 1500))}`;
  } else if (action.status === 'refused') {
    text = `:warning: Not released: ${escapeMrkdwn(truncate(String(action.failure?.reason ?? 'unknown'), 1500))}`;
  } else {
    text = `Status: ${action.status}`;
  }
  return { text: truncate(text.replace(/[*`:]/g, ''), 300), blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
