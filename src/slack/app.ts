import { App, ExpressReceiver, LogLevel } from '@slack/bolt';
import type { Application } from 'express';
import { registerActions } from './listeners/actions';
import { registerAuditCommand } from './listeners/commands/audit';
import { registerCountersignCommand } from './listeners/commands/countersign';
import type { SlackDeps } from './deps';

export type SlackAppOptions = {
  botToken: string;
  signingSecret: string;
  apiUrl: string;
  /** Our own express app: Bolt mounts `/slack/events` on it beside the /v1 API. */
  expressApp: Application;
};

/** The Bolt app in HTTP mode. Signature and timestamp (5 minutes) are verified by Bolt's receiver. */
export function createSlackApp(opts: SlackAppOptions, deps: SlackDeps) {
  const receiver = new ExpressReceiver({
    signingSecret: opts.signingSecret,
    endpoints: '/slack/events',
    app: opts.expressApp,
    processBeforeResponse: false,
    logLevel: LogLevel.ERROR,
  });
  const app = new App({
    token: opts.botToken,
    receiver,
    clientOptions: { slackApiUrl: opts.apiUrl },
    logLevel: LogLevel.ERROR,
    // We never need auth.test at start-up; keeping it lazy lets the app boot while Slack is unreachable.
    tokenVerificationEnabled: false,
  });
  registerActions(app, deps);
  registerAuditCommand(app, deps);
  registerCountersignCommand(app, deps);
  return { app, receiver, client: app.client };
}
