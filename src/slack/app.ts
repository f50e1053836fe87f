import { App, ExpressReceiver, LogLevel, SocketModeReceiver, type Logger as BoltLogger } from '@slack/bolt';
import type { Application } from 'express';
import { logger } from '../lib/logger';
import { registerActions } from './listeners/actions';
import { registerViews } from './listeners/views';
import { registerAuditCommand } from './listeners/commands/audit';
import { registerCountersignCommand } from './listeners/commands/countersign';
import type { SlackDeps } from './deps';
import { refuseSkewedSlackTimestamps } from './request-timestamp';

export type SlackAppOptions = {
  botToken: string;
  /**
   * HTTP mode: Slack signs every request with it; Bolt verifies the signature, and timestamps more than five
   * minutes from now in either direction are refused first (src/slack/request-timestamp.ts).
   */
  signingSecret?: string;
  /** Socket Mode (an `xapp-` token): interactions arrive over a WebSocket and no HTTP endpoint is mounted. */
  appToken?: string;
  apiUrl: string;
  /** Our own express app: in HTTP mode Bolt mounts `/slack/events` on it beside the /v1 API. */
  expressApp: Application;
};

/** Bolt's and the Socket Mode client's logs go to our structured log (silent under tests) instead of the console. */
function boltLogger(): BoltLogger {
  const log = logger.child({ component: 'bolt' });
  let level = LogLevel.WARN;
  return {
    debug: (...msg) => log.debug(msg.map(String).join(' ')),
    info: (...msg) => log.info(msg.map(String).join(' ')),
    warn: (...msg) => log.warn(msg.map(String).join(' ')),
    error: (...msg) => log.error(msg.map(String).join(' ')),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

/** Web API retries for listener calls (ephemerals, modals): 429s wait for Retry-After, 5xx and network errors back off. */
export const SLACK_RETRY_CONFIG = { retries: 3, factor: 2, minTimeout: 200, maxTimeout: 2000 };

/**
 * The Bolt app, over HTTP (ExpressReceiver on our express app) or Socket Mode (SocketModeReceiver, when an
 * app token is given). The same listeners serve both; only how Slack reaches us differs.
 */
export function createSlackApp(opts: SlackAppOptions, deps: SlackDeps) {
  const clientOptions = { slackApiUrl: opts.apiUrl, retryConfig: SLACK_RETRY_CONFIG };
  const log = boltLogger();
  const socketMode = Boolean(opts.appToken);
  let receiver: ExpressReceiver | SocketModeReceiver;
  if (opts.appToken) {
    receiver = new SocketModeReceiver({ appToken: opts.appToken, logger: log, logLevel: LogLevel.WARN, installerOptions: { clientOptions } });
  } else {
    if (!opts.signingSecret) throw new Error('Slack HTTP mode needs a signing secret (or an app token for Socket Mode)');
    // Registered before the receiver mounts its router on the app, so it runs first.
    opts.expressApp.use('/slack/events', refuseSkewedSlackTimestamps());
    receiver = new ExpressReceiver({
      signingSecret: opts.signingSecret,
      endpoints: '/slack/events',
      app: opts.expressApp,
      processBeforeResponse: false,
      logger: log,
      logLevel: LogLevel.WARN,
    });
  }
  const app = new App({
    token: opts.botToken,
    receiver,
    socketMode,
    clientOptions,
    logger: log,
    logLevel: LogLevel.WARN,
    // We never need auth.test at start-up; keeping it lazy lets the app boot while Slack is unreachable.
    tokenVerificationEnabled: false,
  });
  registerActions(app, deps);
  registerViews(app, deps);
  registerAuditCommand(app, deps);
  registerCountersignCommand(app, deps);
  return { app, receiver, client: app.client, socketMode, ...socketLifecycle(app, socketMode) };
}

/**
 * Socket Mode needs a connection opened (apps.connections.open, then the WebSocket); HTTP mode needs nothing.
 * start() keeps trying in the background while Slack is unreachable, so the API still boots.
 */
function socketLifecycle(app: App, socketMode: boolean) {
  let stopped = false;
  let started = false;
  let connecting: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  return {
    start(): void {
      if (!socketMode || connecting) return;
      connecting = (async () => {
        for (let attempt = 0; !stopped; attempt++) {
          try {
            await app.start();
            started = true;
            return;
          } catch (err) {
            logger.warn({ err, attempt }, 'Slack Socket Mode could not connect; retrying');
            await new Promise<void>((resolve) => {
              const timer = setTimeout(resolve, Math.min(30_000, 500 * 2 ** attempt));
              wake = () => {
                clearTimeout(timer);
                resolve();
              };
            });
          }
        }
      })();
    },
    async stop(): Promise<void> {
      stopped = true;
      wake?.();
      if (!connecting) return;
      await connecting;
      if (started) await app.stop().catch((err: unknown) => logger.warn({ err }, 'error while closing the Slack socket'));
    },
  };
}
