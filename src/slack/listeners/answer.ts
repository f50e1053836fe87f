import type { WebClient } from '@slack/web-api';
import type { ApprovalInput, ApprovalOutcome } from '../../approvals/decide';
import { decideApproval, listApprovals } from '../../approvals/decide';
import { logger } from '../../lib/logger';
import type { SlackDeps } from '../deps';

type Refused = Extract<ApprovalOutcome, { kind: 'refused' }>;

const REFUSAL_TEXT: Record<string, string> = {
  'not-authorized': 'You are not in the approver group for this request, so your click was not counted.',
  'not-human': 'Bots and agents cannot approve or deny actions; nothing was recorded.',
  requester: 'You asked for this action, so you cannot approve or deny it.',
  'stale-payload': 'This card no longer matches the pending payload; nothing was recorded.',
  'hash-not-confirmed': 'This is a high-risk action: approve it from the card and type the start of its payload hash. Nothing was recorded.',
  duplicate: 'You have already answered this request; your earlier answer stands and nothing changed.',
  expired: 'This request has expired; nothing was recorded.',
  'not-found': 'This request no longer exists.',
  'grant-not-allowed': 'That standing grant is outside what the rule allows; nothing was recorded.',
  owner: 'You own the agent that requested this action, so you cannot approve or deny it.',
};

const verbs: Record<string, string> = { approve: 'approved', deny: 'denied' };

/** Why a click changed nothing, in words for the human who clicked (who decided, when it was already decided). */
export async function refusalText(deps: Pick<SlackDeps, 'db'>, outcome: Refused): Promise<string> {
  if (outcome.reason !== 'not-pending' || !outcome.action) return REFUSAL_TEXT[outcome.reason] ?? outcome.detail;
  const status = outcome.action.status.replace('_', ' ');
  const decisions = await listApprovals(deps.db, outcome.action.id).catch(() => []);
  const by = decisions
    .filter((d) => d.approver.startsWith('slack:'))
    .map((d) => `<@${d.approver.slice(6)}> ${verbs[d.verdict] ?? d.verdict}`)
    .join(', ');
  return `Nothing changed: this request is already ${status}${by ? ` (${by})` : ''}. Your click was not counted.`;
}

/** Says something only the clicking user sees, where they clicked. Failure to tell is logged, never thrown. */
export async function tell(client: WebClient, channel: string | null | undefined, user: string, text: string): Promise<void> {
  if (!channel) return;
  await client.chat.postEphemeral({ channel, user, text }).catch((err: unknown) => logger.warn({ err, channel, user }, 'could not post ephemeral message'));
}

/**
 * Records an answer (after the ack) and tells the human when it changed nothing. Errors (database down,
 * Slack's directory unreachable) refuse the click: nothing is recorded and the human is asked to retry.
 */
export async function answer(deps: SlackDeps, client: WebClient, channel: string | null | undefined, input: ApprovalInput): Promise<ApprovalOutcome | null> {
  let outcome: ApprovalOutcome;
  try {
    outcome = await decideApproval(deps.db, deps.approverStanding, input);
  } catch (err) {
    logger.error({ err, action: input.actionId, user: input.userId }, 'could not record a Slack answer');
    await tell(client, channel, input.userId, 'Countersign could not record your answer just now; nothing changed. Please try again in a moment.');
    return null;
  }
  if (outcome.kind === 'refused') {
    await tell(client, channel, input.userId, await refusalText(deps, outcome));
    return outcome;
  }
  deps.afterDecision(outcome.action.id, outcome.kind);
  return outcome;
}
