import type { Express } from 'express';
import type { FileConfig } from '../config/file-config';
import type { Db } from '../db/client';
import { defaultSandboxConfig, pointSandboxExecutor, sandboxExecutorSecret, SANDBOX_EXECUTOR_PATH } from './config';
import { createDemoRunAgent, ensureDemoAgent } from './demo-agent';
import { sandboxExecutorRouter } from './executor';
import { repostPendingCards } from './repost';
import type { RedisTarget } from '../queue/redis-target';
import { sandboxRoutes } from './routes';
import { startSandboxSlack } from './slack';

export type Sandbox = Awaited<ReturnType<typeof startSandbox>>;

/**
 * Sandbox mode (no Slack credentials): the built-in Slack emulator stands in for Slack, the /sandbox page
 * shows it, and, without a countersign.yaml, a built-in configuration with a demo executor is used.
 */
export async function startSandbox(fileConfig: FileConfig | null) {
  const config = fileConfig ?? defaultSandboxConfig();
  const slack = await startSandboxSlack(config);
  let db: Db | null = null;
  const routes = sandboxRoutes(slack.emulator, (router) => {
    router.post('/demo-agent', async (req, res) => {
      // JSON only, so a cross-site form cannot mint tokens.
      if (!req.is('application/json')) return void res.status(415).json({ error: 'send application/json' });
      if (!db) return void res.status(503).json({ error: 'not ready' });
      res.status(201).json(await createDemoRunAgent(db));
    });
  });
  return {
    config,
    emulator: slack.emulator,
    /** What main.ts needs to talk to the emulator as to Slack. */
    slackEnv: { SLACK_BOT_TOKEN: slack.botToken, SLACK_SIGNING_SECRET: slack.signingSecret, SLACK_API_URL: slack.emulator.apiUrl },
    mount(app: Express, ctx: { db: Db }) {
      db = ctx.db;
      app.use(SANDBOX_EXECUTOR_PATH, sandboxExecutorRouter(() => sandboxExecutorSecret(config)));
      app.use('/sandbox', routes.router);
    },
    /** Once the server listens: interactions go to its /slack/events, commits to its demo executor. */
    async listening(baseUrl: string) {
      slack.emulator.setEventsUrl(`${baseUrl}/slack/events`);
      pointSandboxExecutor(config, baseUrl);
    },
    ensureDemoAgent: (database: Db) => ensureDemoAgent(database),
    /** Posts the cards of actions still pending from an earlier run to this run's (empty) emulator. */
    repostPendingCards: (database: Db, redis: RedisTarget, prefix: string) => repostPendingCards(database, redis, prefix),
    /** Ends the page's live streams so the server can close. */
    beforeClose() {
      routes.close();
    },
    async close() {
      routes.close();
      await slack.emulator.close();
    },
  };
}
