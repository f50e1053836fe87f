import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { ApprovalVerdict } from '../../../approvals/decide';
import { confirmHashModal, denyReasonModal } from '../../blocks/modals';
import type { SlackDeps } from '../../deps';
import { openDecisionForm } from './open-form';

/**
 * Buttons that open a form before anything is recorded: Deny (asks for the reason) and Approve on a
 * high-risk card (asks for the payload hash). The submission decides (src/slack/listeners/views).
 */
export function registerDecisionModalButton(app: App, deps: SlackDeps, actionId: string, verdict: ApprovalVerdict): void {
  app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, client, context }) => {
    await ack();
    await openDecisionForm(deps, { body, action, client, retryNum: context.retryNum }, verdict, verdict === 'deny' ? 'Deny request' : 'Confirm approval', (meta) =>
      verdict === 'deny' ? denyReasonModal(meta) : confirmHashModal(meta),
    );
  });
}
