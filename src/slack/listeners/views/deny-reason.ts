import type { App, ViewSubmitAction } from '@slack/bolt';
import { DENY_REASON_BLOCK, DENY_REASON_INPUT, DENY_VIEW_ID, parseModalMetadata } from '../../interaction-ids';
import type { SlackDeps } from '../../deps';
import { answer } from '../answer';

/** The deny form's submission: ack (closing the modal) first, then record the denial with its reason. */
export function registerDenyReasonView(app: App, deps: SlackDeps): void {
  app.view<ViewSubmitAction>(DENY_VIEW_ID, async ({ ack, body, view, client }) => {
    const meta = parseModalMetadata(view.private_metadata);
    const reason = (view.state.values[DENY_REASON_BLOCK]?.[DENY_REASON_INPUT]?.value ?? '').trim();
    if (meta && reason.length < 3) {
      await ack({ response_action: 'errors', errors: { [DENY_REASON_BLOCK]: 'Say why you deny it, in a few words.' } });
      return;
    }
    await ack();
    if (!meta) return;
    await answer(deps, client, meta.channel, { actionId: meta.action_id, userId: body.user.id, verdict: 'deny', reason, shownPayloadHash: meta.payload_hash });
  });
}
