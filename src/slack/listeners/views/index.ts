import type { App } from '@slack/bolt';
import type { SlackDeps } from '../../deps';
import { registerConfirmHashView } from './confirm-hash';
import { registerDenyReasonView } from './deny-reason';

export function registerViews(app: App, deps: SlackDeps): void {
  registerDenyReasonView(app, deps);
  registerConfirmHashView(app, deps);
}
