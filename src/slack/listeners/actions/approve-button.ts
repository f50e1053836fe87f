import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { APPROVE_ACTION_ID, parseButtonValue } from '../../interaction-ids';
import type { SlackDeps } from '../../deps';
import { answer, tell } from '../answer';
import { clickedWhere } from '../channel';

/**
 * Approve on a standard card: ack() first (Slack's 3-second limit), then the decision, which is one
 * row-locked transaction in src/approvals; the card update and the release happen through the queues.
 */
export function registerApproveButton(app: App, deps: SlackDeps): void {
  app.action<BlockAction<ButtonAction>>(APPROVE_ACTION_ID, async ({ ack, body, action, client }) => {
    await ack();
    const { channel } = clickedWhere(body);
    const value = parseButtonValue(action.value);
    if (!value) return tell(client, channel, body.user.id, 'This button is not a Countersign approval.');
    await answer(deps, client, channel, { actionId: value.action_id, userId: body.user.id, verdict: 'approve', reason: null, shownPayloadHash: value.payload_hash });
  });
}
