import type { App } from '@slack/bolt';
import { APPROVE_CONFIRM_ACTION_ID, DENY_ACTION_ID } from '../../interaction-ids';
import type { SlackDeps } from '../../deps';
import { registerApproveButton } from './approve-button';
import { registerDecisionModalButton } from './decision-modal-button';
import { registerViewPayloadButton } from './view-payload-button';
import { registerSimilarAndEditButtons } from './similar-and-edit-buttons';
import { registerGrantAndRollbackButtons } from './grant-and-rollback-buttons';

export function registerActions(app: App, deps: SlackDeps): void {
  registerApproveButton(app, deps);
  registerDecisionModalButton(app, deps, APPROVE_CONFIRM_ACTION_ID, 'approve');
  registerDecisionModalButton(app, deps, DENY_ACTION_ID, 'deny');
  registerViewPayloadButton(app, deps);
  registerSimilarAndEditButtons(app, deps);
  registerGrantAndRollbackButtons(app, deps);
}
