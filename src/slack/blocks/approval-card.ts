import type { ActionRow, ApprovalRow, StandingGrantRow } from '../../db/schema';
import { standingOf } from '../../grants/store';
import { describeSimilar, type VariableSpec } from '../../grants/similar';
import { paramsDiff } from '../../approvals/diff';
import { redact } from '../../audit/redact';
import { HASH_CONFIRM_LENGTH, storedEscalation } from '../../approvals/escalation';
import {
  APPROVE_ACTION_ID,
  APPROVE_CONFIRM_ACTION_ID,
  APPROVE_SIMILAR_ACTION_ID,
  DECISION_BLOCK_ID,
  DENY_ACTION_ID,
  EDIT_ACTION_ID,
  GRANT_REVOKE_ACTION_ID,
  ROLLBACK_ACTION_ID,
  VIEW_PAYLOAD_ACTION_ID,
  buttonValue,
} from '../interaction-ids';
import { clip, codeBlock, escapeMrkdwn, mrkdwn, plain, quote, truncate } from './escape';
import { shortenForCard } from './payload';
import { planFacts } from '../../executor/prepare';
import { isTruncatedAnswer } from '../../executor/answer';

export { APPROVE_ACTION_ID, APPROVE_CONFIRM_ACTION_ID, APPROVE_SIMILAR_ACTION_ID, DENY_ACTION_ID, EDIT_ACTION_ID, GRANT_REVOKE_ACTION_ID, ROLLBACK_ACTION_ID, VIEW_PAYLOAD_ACTION_ID } from '../interaction-ids';
export { buttonValue, parseButtonValue } from '../interaction-ids';

/** Characters of the payload hash printed on the card (the high-risk confirmation asks for the first 8). */
export const SHORT_HASH_LENGTH = 16;

export type CardAgent = { name: string; owner: string };
export type Block = Record<string, unknown>;
export type CardMessage = { text: string; blocks: Block[] };
export type CardOptions = {
  /** This copy was re-posted to the escalation group's channel. */
  escalationCopy?: boolean;
  /** The standing grant this card's approval gave, with its uses so far. */
  grant?: StandingGrantRow | null;
};

/** Parameters longer than this (as pretty JSON) are not offered for editing: Slack's text input holds 3,000 characters. */
export const EDITABLE_PARAMS_MAX = 3000;

/** Whether a pending card offers "Edit and approve…": not on high-risk rules (their approval is of the exact hash typed). */
export function offersEdit(action: ActionRow): boolean {
  return !storedEscalation(action).highRisk && JSON.stringify(action.params, null, 2).length <= EDITABLE_PARAMS_MAX;
}

// Budgets (characters) that keep a card well under Slack's ~12k total and 3,000 per section.
const JUSTIFICATION_MAX = 1200;
const PARAMS_MAX = 2400;
const PREVIEW_MAX = 1000;
const REASONING_MAX = 1200;
const NAME_MAX = 200;
const CLAIMS_MAX = 600;

function slackDate(d: Date): string {
  const unix = Math.floor(d.getTime() / 1000);
  return `<!date^${unix}^{date_short_pretty} {time}|${d.toISOString()}>`;
}

/** A Slack user id we recorded ourselves (`slack:U…`) as a mention; anything else as escaped text. */
function who(approver: string): string {
  const id = approver.startsWith('slack:') ? approver.slice(6) : '';
  return /^[UW][A-Z0-9]{2,}$/.test(id) ? `<@${id}>` : escapeMrkdwn(approver);
}

/** The count the policy read (the executor's plan first, then the params): never what the agent claims. */
function blastRadius(action: ActionRow): string {
  const plan = planFacts(action);
  const fromPlan = plan?.target_count;
  const tc = fromPlan !== undefined ? fromPlan : action.params.target_count;
  if (typeof tc !== 'number' || !Number.isSafeInteger(tc) || tc < 0) return tc === undefined ? 'not stated' : 'not a valid count';
  return `${tc} target${tc === 1 ? '' : 's'}${fromPlan !== undefined ? ' (from the executor)' : ''}`;
}

function header(action: ActionRow): Block {
  const high = storedEscalation(action).highRisk;
  return { type: 'header', text: plain(`${high ? 'HIGH RISK' : 'Approval needed'}: ${action.actionClass}`, 150) };
}

function summaryBlocks(action: ActionRow, agent: CardAgent, opts: CardOptions): { blocks: Block[]; truncated: boolean } {
  const esc = storedEscalation(action);
  const blocks: Block[] = [header(action)];
  const risk = esc.highRisk
    ? `Risk: *high* — to approve you will type the first ${HASH_CONFIRM_LENGTH} characters of the payload hash below`
    : 'Risk: standard';
  const top = [risk];
  if (opts.escalationCopy && esc.escalateTo) {
    top.push(`Escalated from *${escapeMrkdwn(esc.via ?? '?')}*: nobody decided within ${esc.escalateTo.afterSeconds} s`);
  }
  blocks.push({ type: 'context', elements: top.map((t) => mrkdwn(t)) });

  const group = `${escapeMrkdwn(esc.via ?? '—')}${action.approvalsRequired > 1 ? ` (${action.approvalsRequired} approvals needed)` : ''}${action.escalatedAt && esc.escalateTo ? `, escalated to ${escapeMrkdwn(esc.escalateTo.via)}` : ''}`;
  const fields = [
    `*Agent*\n${clip(escapeMrkdwn(agent.name), NAME_MAX)}${agent.owner ? ` (owner: ${clip(escapeMrkdwn(agent.owner), NAME_MAX)})` : ''}`,
    `*Blast radius*\n${blastRadius(action)}`,
    `*Approver group*\n${group}`,
    // The request's own time: a card posted again (escalation, a sandbox restart) still says when it was asked.
    `*Requested*\n${slackDate(action.createdAt)}`,
    `*Expires*\n${action.expiresAt ? slackDate(action.expiresAt) : 'never'}`,
  ];
  if (action.onBehalfOf) fields.push(`*On behalf of*\n${clip(escapeMrkdwn(action.onBehalfOf), NAME_MAX)} (cannot approve)`);
  blocks.push({ type: 'section', fields: fields.map((t) => mrkdwn(clip(t, 2000))) });

  const overruns = (action.facts as { budget_overrun?: Array<{ detail?: string }> } | null)?.budget_overrun;
  if (overruns?.length) {
    const lines = overruns.map((o) => `• ${escapeMrkdwn(String(o.detail ?? ''))}`).join('\n');
    blocks.push({
      type: 'section',
      block_id: 'countersign_budget_overrun',
      text: mrkdwn(clip(`:warning: *Over budget* — approving admits this one action; the budget stays as it is.\n${lines}`, 2000)),
    });
  }

  blocks.push({ type: 'section', text: mrkdwn(`*Justification*\n${quote(action.justification, JUSTIFICATION_MAX)}`) });

  const params = shortenForCard(action.params);
  blocks.push({ type: 'section', text: mrkdwn(`*Parameters*\n${codeBlock(JSON.stringify(params.value, null, 2), PARAMS_MAX)}`) });
  let truncated = params.truncated || JSON.stringify(params.value, null, 2).length > PARAMS_MAX - 10;

  const edited = action.edited as { by?: string; original_params?: Record<string, unknown> } | null;
  if (edited?.original_params) {
    const changes = paramsDiff(edited.original_params, action.params)
      .slice(0, 20)
      .map((c) => `${c.path}: ${c.before === undefined ? '(absent)' : JSON.stringify(c.before)} → ${c.after === undefined ? '(absent)' : JSON.stringify(c.after)}`);
    blocks.push({
      type: 'section',
      text: mrkdwn(`:pencil2: *Edited by ${who(edited.by ?? '')}* — differs from what the agent asked:\n${codeBlock(changes.join('\n') || '(no field changed)', 1200)}`),
    });
  }

  const prepared = action.prepared as { preview?: unknown } | null;
  if (prepared && typeof prepared.preview === 'string' && prepared.preview.length > 0) {
    blocks.push({ type: 'section', text: mrkdwn(`*What will happen* (the executor's prepared plan)\n${codeBlock(prepared.preview, PREVIEW_MAX)}`) });
    truncated ||= prepared.preview.length > PREVIEW_MAX - 10;
  }

  if (Object.keys(action.context ?? {}).length > 0) {
    const claims = shortenForCard(action.context);
    const text = JSON.stringify(claims.value, null, 2);
    blocks.push({ type: 'section', text: mrkdwn(`*What the agent says* (its claim; policy does not read it)\n${codeBlock(text, CLAIMS_MAX)}`) });
    truncated ||= claims.truncated || text.length > CLAIMS_MAX - 10;
  }

  if (action.preview !== null && action.preview !== undefined) {
    const preview = shortenForCard(action.preview);
    const text = JSON.stringify(preview.value, null, 2) ?? 'null';
    blocks.push({ type: 'section', text: mrkdwn(`*Dry-run preview* (from the executor)\n${codeBlock(text, PREVIEW_MAX)}`) });
    truncated ||= preview.truncated || text.length > PREVIEW_MAX - 10;
  }

  blocks.push({
    type: 'section',
    text: mrkdwn(`*Why this needs approval* — rule \`${escapeMrkdwn(truncate(action.ruleId ?? 'none', 100)).replace(/`/g, "'")}\`\n${quote(action.reasoning, REASONING_MAX)}`),
  });
  blocks.push({
    type: 'context',
    elements: [
      mrkdwn(`Payload hash \`${action.payloadHash.slice(0, SHORT_HASH_LENGTH)}\``),
      ...(action.planHash ? [mrkdwn(`Plan hash \`${action.planHash.slice(0, SHORT_HASH_LENGTH)}\``)] : []),
      mrkdwn(`Action \`${action.id}\``),
      mrkdwn(`Policy \`${escapeMrkdwn(action.policyVersion.slice(0, 16))}\``),
    ],
  });
  return { blocks, truncated };
}

function progress(action: ActionRow, decisions: ApprovalRow[]): Block | null {
  const approvers = decisions.filter((d) => d.verdict === 'approve');
  if (action.approvalsRequired <= 1 && approvers.length === 0) return null;
  const names = approvers.map((d) => `${who(d.approver)} ${slackDate(d.createdAt)}`).join(', ');
  const text = `*Approvals: ${approvers.length} of ${Math.max(1, action.approvalsRequired)}*${names ? ` — ${names}` : ''}`;
  return { type: 'context', block_id: 'countersign_progress', elements: [mrkdwn(clip(text, 2000))] };
}

/** The interactive card posted to the approver group's channel (and, escalated, to the next group's). */
export function approvalCard(action: ActionRow, agent: CardAgent, decisions: ApprovalRow[] = [], opts: CardOptions = {}): CardMessage {
  const { blocks, truncated } = summaryBlocks(action, agent, opts);
  const p = progress(action, decisions);
  if (p) blocks.push(p);
  const value = buttonValue(action);
  const high = storedEscalation(action).highRisk;
  const elements: Block[] = [
    { type: 'button', action_id: high ? APPROVE_CONFIRM_ACTION_ID : APPROVE_ACTION_ID, style: 'primary', text: plain(high ? 'Approve…' : 'Approve', 75), value },
    { type: 'button', action_id: DENY_ACTION_ID, style: 'danger', text: plain('Deny…', 75), value },
  ];
  const standing = standingOf(action);
  if (standing) {
    elements.splice(1, 0, { type: 'button', action_id: APPROVE_SIMILAR_ACTION_ID, text: plain('Approve this and similar…', 75), value });
    blocks.push({
      type: 'context',
      elements: [
        mrkdwn(
          clip(
            `"Similar" = same agent and action class, ${escapeMrkdwn(describeSimilar(standing.variable as VariableSpec))}; up to ${standing.max_count} within ${formatSeconds(standing.max_duration_seconds)}`,
            2000,
          ),
        ),
      ],
    });
  }
  if (offersEdit(action)) elements.push({ type: 'button', action_id: EDIT_ACTION_ID, text: plain('Edit and approve…', 75), value });
  if (truncated) elements.push({ type: 'button', action_id: VIEW_PAYLOAD_ACTION_ID, text: plain('View full payload', 75), value: action.id });
  blocks.push({ type: 'actions', block_id: DECISION_BLOCK_ID, elements });
  return { text: `Approval needed: ${action.actionClass} requested by ${escapeMrkdwn(truncate(agent.name, NAME_MAX))}`, blocks };
}

const OUTCOME_LINES: Record<string, string> = {
  approved: ':white_check_mark: *Approved*',
  queued: ':white_check_mark: *Approved*',
  executing: ':white_check_mark: *Approved*',
  committed: ':white_check_mark: *Approved*',
  failed: ':white_check_mark: *Approved*',
  refused: ':white_check_mark: *Approved*',
  plan_drift: ':white_check_mark: *Approved*',
  denied: ':no_entry: *Denied*',
  expired: ':hourglass: *Expired* — nobody decided in time; the request is denied',
  cancelled: ':octagonal_sign: *Cancelled* by the kill switch',
};

/** The card after a decision: same facts, no buttons, and who decided when and why. */
export function decidedCard(action: ActionRow, agent: CardAgent, decisions: ApprovalRow[], opts: CardOptions = {}): CardMessage {
  const { blocks } = summaryBlocks(action, agent, opts);
  const lines: string[] = [OUTCOME_LINES[action.status] ?? `*${escapeMrkdwn(action.status)}*`];
  for (const d of decisions) {
    const verb = d.verdict === 'approve' ? 'approved' : 'denied';
    lines.push(`${who(d.approver)} ${verb} ${slackDate(d.createdAt)}${d.reason ? `: ${clip(escapeMrkdwn(d.reason), 500)}` : ''}`);
  }
  if (action.status === 'expired' && action.expiresAt) lines.push(`Timed out ${slackDate(action.expiresAt)}`);
  if (action.status === 'cancelled' && action.failure?.reason) lines.push(clip(escapeMrkdwn(String(action.failure.reason)), 500));
  blocks.push({ type: 'section', block_id: 'countersign_outcome', text: mrkdwn(clip(lines.join('\n'), 3000)) });
  if (opts.grant) blocks.push(...grantBlocks(opts.grant));
  return { text: `${action.actionClass}: ${action.status.replace('_', ' ')}`, blocks };
}

function formatSeconds(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

const GRANT_ENDINGS: Record<string, string> = {
  exhausted: 'all uses taken',
  expired: 'its time ran out',
  revoked: 'revoked',
  'agent-killed': "ended by the agent's kill switch",
  'policy-changed': 'ended because the policy changed',
};

/** The standing grant on the card that gave it: "7 of 20 used, until 14:30", and a Revoke button while it holds. */
export function grantBlocks(g: StandingGrantRow): Block[] {
  const similar = describeSimilar(g.variable as VariableSpec);
  const state =
    g.status === 'active'
      ? `*Standing grant*: ${g.usedCount} of ${g.maxCount} used, until ${slackDate(g.expiresAt)}`
      : `*Standing grant* (${GRANT_ENDINGS[g.endedReason ?? ''] ?? 'ended'}${g.endedBy && g.endedReason === 'revoked' ? ` by ${who(g.endedBy)}` : ''}): ${g.usedCount} of ${g.maxCount} used`;
  const blocks: Block[] = [
    {
      type: 'section',
      block_id: 'countersign_grant',
      text: mrkdwn(clip(`:repeat: ${state}\nApproves requests from the same agent for the same action class with ${escapeMrkdwn(similar)}. Grant \`${g.id}\``, 3000)),
    },
  ];
  if (g.status === 'active') {
    blocks.push({
      type: 'actions',
      block_id: 'countersign_grant_actions',
      elements: [{ type: 'button', action_id: GRANT_REVOKE_ACTION_ID, style: 'danger', text: plain('Revoke grant', 75), value: g.id }],
    });
  }
  return blocks;
}

/** The card as it should look now: interactive while pending, decided otherwise. */
export function currentCard(action: ActionRow, agent: CardAgent, decisions: ApprovalRow[], opts: CardOptions = {}): CardMessage {
  return action.status === 'pending_approval' ? approvalCard(action, agent, decisions, opts) : decidedCard(action, agent, decisions, opts);
}

/** Says so when only part of the executor's answer was stored: its size and the SHA-256 of the whole. */
function truncationNote(answer: unknown): string {
  if (!isTruncatedAnswer(answer)) return '';
  return `:scissors: *Answer truncated*: ${answer.bytes.toLocaleString('en-US')} bytes, of which the first ${answer.head.length.toLocaleString('en-US')} characters are stored. SHA-256 of the whole answer: \`${answer.sha256.replace(/[^0-9a-f]/g, '')}\`\n`;
}

/** The thread reply that reports what the executor did; with "Roll back" when the contract names a compensating action. */
export function outcomeReply(action: ActionRow, opts: { rollback?: boolean } = {}): CardMessage {
  let text: string;
  if (action.status === 'committed') {
    const answer = action.result;
    const shown = isTruncatedAnswer(answer) ? answer.head : JSON.stringify(redact(answer ?? null), null, 2) ?? 'null';
    const result = codeBlock(isTruncatedAnswer(answer) ? (redact(shown) as string) : shown, 2500);
    text = `:rocket: Committed by executor \`${escapeMrkdwn(action.executor ?? '')}\` after ${action.attempts} attempt(s).\n${truncationNote(answer)}${result}`;
  } else if (action.status === 'failed') {
    const note = truncationNote(action.failure?.body);
    text = `:x: Failed: ${clip(escapeMrkdwn(String(action.failure?.reason ?? 'unknown')), 1500)}${note ? `\n${note}` : ''}`;
  } else if (action.status === 'plan_drift') {
    text = `:warning: Not executed: ${clip(escapeMrkdwn(String(action.failure?.reason ?? 'the plan changed since it was approved')), 1500)}`;
  } else if (action.status === 'refused') {
    text = `:warning: Not released: ${clip(escapeMrkdwn(String(action.failure?.reason ?? 'unknown')), 1500)}`;
  } else {
    text = `Status: ${escapeMrkdwn(action.status)}`;
  }
  const fallback = action.status === 'committed' ? `Committed by executor ${action.executor ?? ''}` : text.replace(/[*`:]/g, '');
  const blocks: Block[] = [{ type: 'section', text: mrkdwn(text) }];
  if (opts.rollback && action.status === 'committed') {
    blocks.push({
      type: 'actions',
      block_id: 'countersign_rollback',
      elements: [{ type: 'button', action_id: ROLLBACK_ACTION_ID, text: plain('Roll back', 75), value: action.id }],
    });
  }
  return { text: truncate(fallback, 300), blocks };
}
