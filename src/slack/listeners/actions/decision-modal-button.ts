import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { precheckApproval, type ApprovalVerdict } from '../../../approvals/decide';
import { logger } from '../../../lib/logger';
import { confirmHashModal, denyReasonModal, noticeModal } from '../../blocks/modals';
import { parseButtonValue, type ModalMetadata } from '../../interaction-ids';
import type { SlackDeps } from '../../deps';
import { refusalText, tell } from '../answer';
import { clickedWhere } from '../channel';

/**
 * Buttons that open a form before anything is recorded: Deny (asks for the reason) and Approve on a
 * high-risk card (asks for the payload hash). The modal is opened first, straight after the ack — the
 * trigger_id lives 3 seconds — and only then is the clicker checked; a refusal replaces the form and is
 * told ephemerally (and recorded as evidence by the pre-check). The submission decides (src/slack/listeners/views).
 */
export function registerDecisionModalButton(app: App, deps: SlackDeps, actionId: string, verdict: ApprovalVerdict): void {
  app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, client, context }) => {
    await ack();
    const { channel, messageTs } = clickedWhere(body);
    const user = body.user.id;
    const value = parseButtonValue(action.value);
    if (!value) return tell(client, channel, user, 'This button is not a Countersign approval.');
    const meta: ModalMetadata = { ...value, channel, message_ts: messageTs };
    let viewId: string | undefined;
    try {
      const opened = await client.views.open({ trigger_id: body.trigger_id, view: verdict === 'deny' ? denyReasonModal(meta) : confirmHashModal(meta) });
      viewId = opened.view?.id;
    } catch (err) {
      logger.warn({ err, action: value.action_id, retry: context.retryNum }, 'could not open a decision modal');
      // A retried delivery carries the trigger_id the first delivery already used to open the form.
      if (!context.retryNum) await tell(client, channel, user, 'Countersign could not open the form in time; nothing was recorded. Please click again.');
      return;
    }
    const pre = await precheckApproval(deps.db, deps.approverStanding, { actionId: value.action_id, userId: user, verdict, shownPayloadHash: value.payload_hash }).catch(
      (err: unknown) => {
        // The submission checks everything again; a failed pre-check only loses the early warning.
        logger.warn({ err, action: value.action_id }, 'approval pre-check failed');
        return null;
      },
    );
    if (pre?.kind !== 'refused') return;
    const text = await refusalText(deps, pre);
    if (viewId) {
      await client.views
        .update({ view_id: viewId, view: noticeModal(verdict === 'deny' ? 'Deny request' : 'Confirm approval', text) })
        .catch((err: unknown) => logger.warn({ err }, 'could not replace a refused decision modal'));
    }
    await tell(client, channel, user, text);
  });
}
