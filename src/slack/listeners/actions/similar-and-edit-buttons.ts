import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { standingOf } from '../../../grants/store';
import { offersEdit } from '../../blocks/approval-card';
import { editModal, grantModal } from '../../blocks/modals';
import { APPROVE_SIMILAR_ACTION_ID, EDIT_ACTION_ID } from '../../interaction-ids';
import type { SlackDeps } from '../../deps';
import { openDecisionForm } from './open-form';

/**
 * "Approve this and similar…" and "Edit and approve…": both open a form filled from the pending action (the rule's
 * grant limits; the params to edit). The submissions decide (src/slack/listeners/views).
 */
export function registerSimilarAndEditButtons(app: App, deps: SlackDeps): void {
  app.action<BlockAction<ButtonAction>>(APPROVE_SIMILAR_ACTION_ID, async ({ ack, body, action, client, context }) => {
    await ack();
    await openDecisionForm(
      deps,
      { body, action, client, retryNum: context.retryNum },
      'approve',
      'Approve and similar',
      (meta, row) => {
        const standing = row ? standingOf(row) : null;
        return row && standing ? grantModal(meta, standing, row.actionClass) : null;
      },
      true,
    );
  });
  app.action<BlockAction<ButtonAction>>(EDIT_ACTION_ID, async ({ ack, body, action, client, context }) => {
    await ack();
    await openDecisionForm(
      deps,
      { body, action, client, retryNum: context.retryNum },
      'approve',
      'Edit and approve',
      (meta, row) => (row && offersEdit(row) ? editModal(meta, row.params) : null),
      true,
    );
  });
}
