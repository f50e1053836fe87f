import type { App } from '@slack/bolt';
import type { SlackDeps } from '../../deps';
import { registerConfirmHashView } from './confirm-hash';
import { registerDenyReasonView } from './deny-reason';
import { registerEditView } from './edit';
import { registerGrantView } from './grant';

export function registerViews(app: App, deps: SlackDeps): void {
  registerDenyReasonView(app, deps);
  registerConfirmHashView(app, deps);
  registerGrantView(app, deps);
  registerEditView(app, deps);
}
