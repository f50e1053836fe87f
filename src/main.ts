import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import express from 'express';
import { WebClient } from '@slack/web-api';
import type { Env } from './config/env';
import type { FileConfig } from './config/file-config';
import { ConfigStore } from './config/store';
import { startConfigVersionLog } from './config/reload';
import { connectDb, type Db, type DbConnection } from './db/client';
import { policyVersions } from './db/schema';
import { appendEvents } from './audit/append';
import { configureRedaction } from './audit/redact';
import { auditRouter } from './audit/routes';
import { anchorTask } from './audit/anchor';
import { createReceiptSigner, isEncrypted, openSigningKey, receiptKeysRouter } from './receipts';
import { expirePendingApprovals } from './approvals/expire';
import { escalateDueApprovals } from './approvals/escalate';
import { endStaleGrants } from './grants/store';
import { PolicyStore } from './policy';
import { createShadow } from './policy-rollout/shadow';
import { intakeRouter } from './intake/routes';
import { bareIntakeRoute } from './intake/bare-route';
import { tasksRouter } from './tasks';
import type { IntakeDeps } from './intake/service';
import { createStatusWatcher, type LongPollDeps, type StatusWatcher } from './intake/wait';
import { createIntakeWriter } from './intake/batch-writer';
import { createCredentialCache } from './auth/credential-cache';
import { mcpRouter } from './mcp';
import { adminRouter } from './controls/admin-routes';
import { createRateLimiter } from './controls/rate-limit';
import { budgetReleaseControls } from './controls/budget-release';
import { compileContracts } from './contracts/validate';
import { problemHandler } from './http/problem-response';
import { refuseHostileUrl } from './http/url-guard';
import { routeFallback } from './http/route-fallback';
import { closeRedis, connectRedis } from './queue/connection';
import { redisTargetOf } from './queue/redis-target';
import { createCommitQueue, enqueueCommits, waitingCommitIds } from './queue/commit-queue';
import { createCardQueue, enqueueCardJob } from './queue/card-queue';
import { startCommitWorker } from './queue/commit-worker';
import { closeWorker } from './queue/worker-close';
import { startCardWorker } from './queue/card-worker';
import { reconcileCommits, relayOutbox } from './queue/relay';
import { coalesced, everyOnce, redisPeriodClaim } from './queue/periodic';
import { createReleaseGate } from './release';
import { createSlackApp } from './slack/app';
import { fileRollback, type RollbackDeps } from './rollback/file';
import { createApproverDirectory } from './slack/approver-directory';
import { createSlackNotifier } from './slack/notifier';
import { logger } from './lib/logger';
import { openApiRouter } from './openapi';
import {
  addOperatorMetrics,
  createMetrics,
  observabilityRouter,
  observeApprovalWait,
  readinessChecks,
  requestLogging,
  startDependencyProbe,
  type Metrics,
} from './observability';

export type StartOptions = {
  /** Serve HTTP (intake + Slack). Default true. */
  api?: boolean;
  /** Run the commit/card workers and periodic tasks. Default true. */
  workers?: boolean;
  config?: FileConfig;
  reconcileEveryMs?: number;
  /** How often pending approvals are checked for escalation and expiry (default 5 s; tests shorten it). */
  expiryEveryMs?: number;
  /** An open database to use instead of DATABASE_URL (the embedded PGlite one, src/embedded); closed by close(). */
  database?: DbConnection;
  /** Extra routes on the same express app, mounted before the API (sandbox mode's page and demo executor). */
  mount?: (app: express.Express, ctx: { db: Db }) => void;
};

export type Countersign = {
  url: string;
  port: number;
  config: FileConfig;
  db: Db;
  /** The express app (null with `api: false`); tests walk its routes. */
  app: express.Express | null;
  /** This instance's Prometheus registry and recorders. */
  metrics: Metrics;
  /** The long polls this instance holds open. */
  longPolls: StatusWatcher;
  close(): Promise<void>;
};

/** Wires config → db → queues → http + bolt. Nothing else lives here. */
export async function startCountersign(env: Env, opts: StartOptions = {}): Promise<Countersign> {
  if (!env.DATABASE_URL && !opts.database) throw new Error('DATABASE_URL is required (embedded mode is started by `countersign serve`)');
  const redisTarget = redisTargetOf(env);
  if (!redisTarget) throw new Error('REDIS_URL or REDIS_SENTINELS is required');
  const instance = `${hostname()}:${process.pid}`;
  // Loaded from the file, the configuration is reloaded like the policy bundle and versioned (src/config/store.ts).
  const configStore = opts.config ? null : ConfigStore.open(env.COUNTERSIGN_CONFIG);
  const config = opts.config ?? configStore!.current();
  compileContracts(config);
  configureRedaction(config.redaction);
  const waitBudgetMs = env.COUNTERSIGN_DEPENDENCY_WAIT_MS;
  const { db, close: closeDb } =
    opts.database ??
    connectDb(env.DATABASE_URL!, {
      applicationName: `countersign:${instance}`,
      waitBudgetMs,
      preparedStatements: env.COUNTERSIGN_DB_PREPARED_STATEMENTS,
      pipelining: env.COUNTERSIGN_DB_PIPELINING,
    });
  // The API signs receipts: its key is opened before anything else, so one that cannot be decrypted stops the
  // start here (closing the database again), not at the first request.
  const keyProtection = { passphrase: env.COUNTERSIGN_RECEIPT_KEY_PASSPHRASE };
  if (opts.api !== false) {
    const signingKey = await openSigningKey(db, keyProtection).catch(async (err: unknown) => {
      await closeDb();
      throw err;
    });
    if (!isEncrypted(signingKey)) {
      logger.warn(
        { kid: signingKey.kid },
        keyProtection.passphrase
          ? 'the receipt signing key is stored unencrypted: run `countersign keys rotate` to replace it with an encrypted one'
          : // Both steps work in every setup: the server must hold the passphrase to sign with an encrypted key, and
            // `keys rotate` reaches the embedded database through the running server (src/cli/admin-channel.ts).
            'the receipt signing key is stored unencrypted: restart with COUNTERSIGN_RECEIPT_KEY_PASSPHRASE set, then run `countersign keys rotate`',
      );
    }
  }
  const redis = connectRedis(redisTarget);
  const prefix = env.COUNTERSIGN_QUEUE_PREFIX;
  const commitQueue = createCommitQueue(redis, prefix);
  const cardQueue = createCardQueue(redis, prefix);
  const rateLimiter = createRateLimiter(redisTarget, { prefix, defaultPerMinute: env.COUNTERSIGN_RATE_LIMIT_PER_MINUTE, waitMs: waitBudgetMs });
  const metrics = createMetrics({ queues: [commitQueue, cardQueue], queueTimeoutMs: waitBudgetMs });
  // Readiness and the dependency-up gauge come from one probe on its own schedule, not from each request.
  const probe = startDependencyProbe(readinessChecks(db, redis), { timeoutMs: waitBudgetMs });
  const operatorMetrics = addOperatorMetrics(metrics.registry, { db, dependencies: probe.results, timeoutMs: waitBudgetMs });
  // Aborted first thing in close(): long polls return at once instead of holding the server open.
  const shutdown = new AbortController();

  const recordPolicyLoad = async (outcome: 'loaded' | 'refused', version: string, files: unknown[], errors: unknown[] | null, reason: string) => {
    await db.transaction(async (tx) => {
      await tx.insert(policyVersions).values({ version, outcome, files, errors, loadedBy: reason, instance });
      await appendEvents(tx, [{ type: outcome === 'loaded' ? 'policy.loaded' : 'policy.refused', actor: 'system', policyVersion: version, data: { files, errors, reason, instance } }]);
    });
  };
  const policy = await PolicyStore.open(env.COUNTERSIGN_POLICIES, {
    onLoad: (ev) => {
      if (!ev.changed) return;
      recordPolicyLoad('loaded', ev.version, [...ev.files], null, ev.reason).catch((err) => logger.error({ err }, 'could not record policy load'));
    },
    onRefused: (ev) => {
      logger.error({ errors: ev.errors, kept: ev.kept_version }, 'policy bundle refused; the last good bundle stays in force');
      recordPolicyLoad('refused', ev.kept_version ?? 'none', [], [...ev.errors], ev.reason).catch((err) => logger.error({ err }, 'could not record policy refusal'));
    },
  });
  policy.watch();
  // A candidate bundle in shadow: watched like the enforced one; a broken candidate is refused and the last good one kept.
  const candidate = env.COUNTERSIGN_POLICIES_CANDIDATE
    ? await PolicyStore.open(env.COUNTERSIGN_POLICIES_CANDIDATE, { onRefused: (ev) => logger.error({ errors: ev.errors }, 'candidate policy bundle refused') })
    : null;
  candidate?.watch();
  const shadow = candidate ? createShadow({ db, candidate, metrics }) : undefined;
  if (configStore) await startConfigVersionLog(db, configStore, instance);

  const cards = (job: Parameters<typeof enqueueCardJob>[1]) =>
    void enqueueCardJob(cardQueue, job).catch((err) => logger.error({ err, job }, 'could not queue card job; reconciliation will retry'));
  const cancelledCards = (ids: string[]) => ids.forEach((id) => cards({ kind: 'update', action_id: id }));
  const relay = coalesced(() => relayOutbox(db, commitQueue), (err) => logger.warn({ err }, 'outbox relay failed; will retry'));

  const closers: Array<() => Promise<unknown>> = [];
  // One Web API client per instance. Retries are short: the card queue owns long backoff.
  const slackClient = env.SLACK_BOT_TOKEN
    ? new WebClient(env.SLACK_BOT_TOKEN, { slackApiUrl: env.SLACK_API_URL, retryConfig: { retries: 2, factor: 2, minTimeout: 200, maxTimeout: 2000 } })
    : null;
  let server: Server | null = null;
  let port = 0;
  // Set once the intake's deps exist: "Roll back" in Slack files through the same intake (src/rollback).
  let rollbackDeps: RollbackDeps | null = null;
  let expressApp: express.Express | null = null;
  // One poller wakes every long poll of this instance (src/intake/wait.ts).
  const longPolls = createStatusWatcher(db, { perAgent: env.COUNTERSIGN_LONG_POLL_MAX_PER_AGENT, total: env.COUNTERSIGN_LONG_POLL_MAX_TOTAL });

  if (opts.api !== false) {
    const app = express();
    app.disable('x-powered-by');
    app.set('trust proxy', false);
    expressApp = app;
    // Mounted routes (the sandbox page's own polling and live stream) are not request-logged.
    opts.mount?.(app, { db });
    app.use(requestLogging({ logger, metrics }));
    // NUL, control characters and broken encodings in any path or query: 400 for every route, before routing.
    app.use(refuseHostileUrl());
    app.use(observabilityRouter({ metrics, probe }));
    app.use(openApiRouter());
    const receipts = createReceiptSigner(db, keyProtection);
    app.use(receiptKeysRouter(db));
    app.use('/v1', auditRouter({ db, adminToken: env.COUNTERSIGN_ADMIN_TOKEN }));
    // The workspace's directory: who may approve (Slack app), and who an agent says it acts for (intake).
    const directory = slackClient ? createApproverDirectory(config, slackClient) : undefined;
    if (slackClient && directory && (env.SLACK_SIGNING_SECRET || env.SLACK_APP_TOKEN)) {
      // Socket Mode when an app token is set (no /slack/events endpoint then); HTTP with the signing secret otherwise.
      const slack = createSlackApp(
        { botToken: env.SLACK_BOT_TOKEN!, signingSecret: env.SLACK_SIGNING_SECRET, appToken: env.SLACK_APP_TOKEN, apiUrl: env.SLACK_API_URL, expressApp: app },
        {
          db,
          config,
          directory,
          approverStanding: Object.assign(directory.standing, { usergroupMembers: directory.usergroupMembers }),
          afterCancel: cancelledCards,
          policy,
          afterEdit: (actionId, how) => {
            if (!how.rerouted) return cards({ kind: 'update', action_id: actionId });
            // The edited request needs another group: its card is posted there; the old card says where it went.
            cards({ kind: 'post', action_id: actionId });
            if (how.previousCard) {
              void slackClient.chat
                .update({ ...how.previousCard, text: 'Edited and sent to another approver group', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `:pencil2: This request (\`${actionId}\`) was edited and now needs another approver group; it was sent there.` } }] })
                .catch((err: unknown) => logger.warn({ err, actionId }, 'could not update the card of a re-routed edit'));
            }
          },
          afterGrantEnded: (origin) => cards({ kind: 'update', action_id: origin }),
          fileRollback: (actionId, userId) => {
            if (!rollbackDeps) return Promise.resolve({ kind: 'refused', reason: 'intake-refused', detail: 'the intake is not running on this instance' } as const);
            return fileRollback(rollbackDeps, actionId, userId);
          },
          afterDecision: (actionId, kind) => {
            cards({ kind: 'update', action_id: actionId });
            if (kind !== 'recorded') observeApprovalWait(db, metrics, actionId, kind).catch((err) => logger.warn({ err }, 'could not observe approval wait'));
            if (kind === 'approved') relay.kick();
          },
        },
      );
      slack.start();
      closers.unshift(() => slack.stop());
    } else {
      logger.warn('Slack is not configured (SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET or SLACK_APP_TOKEN): approval cards will wait in the queue');
    }
    app.use('/v1/admin', adminRouter({ db, bootstrapToken: env.COUNTERSIGN_ADMIN_TOKEN, afterCancel: cancelledCards }));
    // One set of intake deps for /v1 and /mcp: the same checks apply whichever way an agent comes in.
    const intakeDeps: IntakeDeps & LongPollDeps = {
      db,
      policy,
      config,
      rateLimiter,
      // Allowed actions are written in group commits and enqueued once their batch has committed; if that
      // enqueue fails they stay `queued` without a job until reconciliation queues them again.
      writer: createIntakeWriter(db, {
        afterCommit: (ids) =>
          void enqueueCommits(commitQueue, ids).catch((err) => logger.warn({ err, count: ids.length }, 'could not enqueue commits; reconciliation will')),
        signReceipts: (fields) => receipts.signBatch(fields),
      }),
      credentials: createCredentialCache(db),
      afterCommit: {
        actionApproved: () => relay.kick(),
        approvalRequested: (id) => cards({ kind: 'post', action_id: id }),
        grantUsed: (origin) => cards({ kind: 'update', action_id: origin }),
      },
      onDecision: (decision, status) => metrics.decided(decision, status),
      shutdown: shutdown.signal,
      receipts,
      directory,
      longPolls,
      shadow,
    };
    if (directory) rollbackDeps = { ...intakeDeps, approverStanding: Object.assign(directory.standing, { usergroupMembers: directory.usergroupMembers }) };
    app.use('/v1', intakeRouter(intakeDeps));
    app.use('/v1', tasksRouter({ db, config }));
    app.use(mcpRouter(intakeDeps));
    app.use(routeFallback(app));
    app.use(problemHandler);
    // POST /v1/actions with a plain JSON body is answered without Express (src/intake/bare-route.ts); every
    // other request, that route's unusual ones included, goes to the Express app.
    const hot = bareIntakeRoute(intakeDeps, { logger, metrics });
    server = createServer((req, res) => {
      if (!hot.handle(req, res)) app(req, res);
    });
    server.keepAliveTimeout = 65_000;
    await probe.firstRound;
    await new Promise<void>((resolve) => server!.listen(env.PORT, env.HOST, resolve));
    port = (server.address() as { port: number }).port;
  } else {
    // A worker-only process serves no API, but the release counters (executor calls, lease take-overs,
    // re-queues) are counted where the workers run: it answers /metrics, /healthz and /readyz on PORT, and
    // nothing else, so it is scraped like any other instance.
    const app = express();
    app.disable('x-powered-by');
    app.use(observabilityRouter({ metrics, probe }));
    app.use(routeFallback(app));
    app.use(problemHandler);
    server = createServer(app);
    await probe.firstRound;
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(env.PORT, env.HOST, resolve);
    });
    port = (server.address() as { port: number }).port;
  }

  if (opts.workers !== false) {
    const commitWorker = startCommitWorker(
      {
        db,
        config,
        policy,
        announce: (id) => cards({ kind: 'outcome', action_id: id }),
        requestApproval: (id) => cards({ kind: 'post', action_id: id }),
        releaseGate: createReleaseGate(redis, prefix, config),
        controls: budgetReleaseControls(config),
        leaseGraceMs: env.COUNTERSIGN_LEASE_GRACE_MS,
        onExecutorCall: (executor, outcome) => metrics.executorCalled(executor, outcome.kind, outcome.latencyMs),
        onLeaseTakeover: (executor) => operatorMetrics.leaseTakenOver(executor),
        onClaimRead: (read) => operatorMetrics.claimRead(read),
        // The commit queue's waiting jobs, oldest first (the order workers take them in): their rows are read ahead.
        upcoming: (count) => waitingCommitIds(commitQueue, count),
      },
      redis,
      prefix,
      {
        onOutcome: (_id, outcome) => metrics.released(outcome.kind),
        concurrency: env.COUNTERSIGN_COMMIT_CONCURRENCY,
        lockDurationMs: env.COUNTERSIGN_COMMIT_LOCK_MS,
        stalledIntervalMs: env.COUNTERSIGN_COMMIT_STALLED_INTERVAL_MS,
      },
    );
    closers.push(() => closeWorker(commitWorker));
    if (slackClient) {
      const notifier = createSlackNotifier({ db, client: slackClient, config });
      const cardWorker = startCardWorker(notifier, redis, prefix);
      closers.push(() => closeWorker(cardWorker));
    }
    // Periodic work runs once per period across all instances (a lease row in PostgreSQL + a period claim in Redis).
    const claim = redisPeriodClaim(redis, prefix, instance);
    const relayTimer = everyOnce(db, 'relay', 1000, () => relay.run());
    const reconcileNow = async () => {
      const requeued = await reconcileCommits(db, commitQueue);
      operatorMetrics.requeued(requeued.length);
      if (requeued.length) logger.warn({ requeued: requeued.length }, 'reconciliation queued lost commits again');
    };
    // Reconcile at start-up too: whatever a crash or a lost Redis left behind is queued again at once.
    const startupReconcile = reconcileNow().catch((err) => logger.warn({ err }, 'start-up reconciliation failed; the periodic one will retry'));
    const reconcile = everyOnce(db, 'reconcile', opts.reconcileEveryMs ?? env.COUNTERSIGN_RECONCILE_EVERY_MS, reconcileNow, claim);
    const expiry = everyOnce(db, 'expiry', opts.expiryEveryMs ?? 5_000, async () => {
      // Escalate first: a request nobody answered goes to the escalation group before it can time out.
      for (const id of await escalateDueApprovals(db)) {
        cards({ kind: 'escalate', action_id: id });
        cards({ kind: 'update', action_id: id });
      }
      for (const id of await expirePendingApprovals(db)) cards({ kind: 'update', action_id: id });
      // Standing grants past their time, or given under another policy version, say so on their cards.
      for (const id of await endStaleGrants(db, policy.current().version)) cards({ kind: 'update', action_id: id });
    }, claim);
    closers.push(() => startupReconcile, () => relayTimer.stop(), () => reconcile.stop(), () => expiry.stop(), () => relay.idle());
    if (env.COUNTERSIGN_ANCHOR_FILE || env.COUNTERSIGN_ANCHOR_URL) {
      const target = { file: env.COUNTERSIGN_ANCHOR_FILE, url: env.COUNTERSIGN_ANCHOR_URL };
      const anchors = everyOnce(db, 'anchor', env.COUNTERSIGN_ANCHOR_EVERY_MS, anchorTask(db, target, { instance, ...keyProtection }), claim);
      closers.push(() => anchors.stop());
    }
  }

  return {
    url: `http://${env.HOST}:${port}`,
    port,
    config,
    db,
    app: expressApp,
    metrics,
    longPolls,
    async close() {
      // Stop taking new work first, then let in-flight work finish, then drop connections.
      shutdown.abort();
      probe.stop();
      if (server) {
        const s = server;
        const closed = new Promise<void>((resolve) => s.close(() => resolve()));
        s.closeIdleConnections();
        // Keep-alive connections whose last request (a long poll ended by the abort above) finishes after
        // close() would otherwise hold the server open until their idle timeout.
        const sweep = setInterval(() => s.closeIdleConnections(), 50);
        await closed;
        clearInterval(sweep);
      }
      for (const c of closers) await c().catch((err) => logger.warn({ err }, 'error while closing'));
      policy.close();
      candidate?.close();
      await shadow?.close();
      configStore?.close();
      await commitQueue.close();
      await cardQueue.close();
      await rateLimiter.close();
      // Replies still in flight arrive before the connection goes (src/queue/connection.ts#closeRedis).
      await closeRedis(redis);
      await closeDb();
    },
  };
}

