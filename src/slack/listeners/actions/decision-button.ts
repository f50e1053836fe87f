import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { decideApproval, type ApprovalVerdict } from '../../../approvals/decide';
import { parseButtonValue } from '../../blocks/approval-card';
import type { SlackDeps } from '../../deps';

const REFUSAL_TEXT: Record<string, string> = {
  'not-authorized': 'You are not in the approver group for this request, so your click was not counted.',
  requester: 'You asked for this action, so you cannot approve or deny it.',
  'stale-payload': 'This card no longer matches the pending payload; nothing was recorded.',
  duplicate: 'You have already answered this request.',
  expired: 'This request has expired.',
  'not-found': 'This request no longer exists.',
};

/**
 * Approve / Deny buttons. ack() first (Slack's 3-second limit), then the decision, which is one
 * row-locked transaction in src/approvals; the card update and the release happen through the queues.
 */
export function registerDecisionButton(app: App, deps: SlackDeps, actionId: string, verdict: ApprovalVerdict): void {
  app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, client }) => {
    await ack();
    const value = parseButtonValue(action.value);
    const channel = body.channel?.id ?? body.container?.channel_id;
    const tell = async (text: string) => {
      if (channel) await client.chat.postEphemeral({ channel, user: body.user.id, text }).catch(() => undefined);
    };
    if (!value) return tell('This button is not a Countersign approval.');
    const outcome = await decideApproval(deps.db, deps.directory.isMember, {
      actionId: value.action_id,
      userId: body.user.id,
      verdict,
      reason: null,
      shownPayloadHash: value.payload_hash,
    });
    if (outcome.kind === 'refused') {
      await tell(outcome.reason === 'not-pending' ? `Nothing changed: ${outcome.detail}.` : REFUSAL_TEXT[outcome.reason] ?? outcome.detail);
      return;
    }
    deps.afterDecision(outcome.action.id, outcome.kind);
  });
}
