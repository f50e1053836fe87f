import type { App } from '@slack/bolt';
import { APPROVE_ACTION_ID, DENY_ACTION_ID } from '../../blocks/approval-card';
import type { SlackDeps } from '../../deps';
import { registerDecisionButton } from './decision-button';

export function registerActions(app: App, deps: SlackDeps): void {
  registerDecisionButton(app, deps, APPROVE_ACTION_ID, 'approve');
  registerDecisionButton(app, deps, DENY_ACTION_ID, 'deny');
}
