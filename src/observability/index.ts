import { Router } from 'express';
import { sql } from 'drizzle-orm';
import { eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { actions } from '../db/schema';
import type { Metrics } from './metrics';
import { healthRouter, type ReadinessChecks } from './health';
import type { DependencyProbe } from './probe';

export { createMetrics, type Metrics, type CountableQueue } from './metrics';
export { requestLogging, REQUEST_ID_HEADER, CORRELATION_ID_HEADER } from './request-log';
export { healthRouter, type ReadinessChecks } from './health';
export { startDependencyProbe, type DependencyProbe } from './probe';
export { addOperatorMetrics, type OperatorMetrics } from './operator-metrics';

/** `/healthz`, `/readyz` and `/metrics` (Prometheus text format, from this instance's own registry). */
export function observabilityRouter(opts: { metrics: Metrics; probe: Pick<DependencyProbe, 'results'> }): Router {
  const router = healthRouter(opts.probe);
  router.get('/metrics', async (_req, res, next) => {
    try {
      const text = await opts.metrics.registry.metrics();
      res.set('content-type', opts.metrics.registry.contentType).send(text);
    } catch (e) {
      next(e);
    }
  });
  return router;
}

/** The readiness checks of a running instance: a round trip to PostgreSQL and to Redis. */
export function readinessChecks(db: Db, redis: RedisForProbe): ReadinessChecks & Record<'database' | 'redis', () => Promise<unknown>> {
  // Why Redis is unreachable is only in the client's 'error' events (a wrong password, sentinels that refuse
  // us): a ping waits in the offline queue and times out saying nothing. While the connection is not up and
  // the client has told why, the check fails at once with that reason, which the probe logs.
  let lastError: Error | null = null;
  redis.on('error', (err: Error) => (lastError = err));
  redis.on('ready', () => (lastError = null));
  return {
    database: () => db.execute(sql`select 1`),
    redis: () => (redis.status !== 'ready' && lastError ? Promise.reject(new Error(`not connected: ${lastError.message}`)) : redis.ping()),
  };
}

/** What the probe needs of an ioredis client. */
export type RedisForProbe = { ping(): Promise<unknown>; status: string; on(event: 'error' | 'ready', listener: (err: Error) => void): unknown };

/**
 * Observes how long a human took to settle an escalated action. Reads the row (the Slack listener only
 * knows the id); a failure here must never disturb the approval, so it is logged and swallowed by the caller.
 */
export async function observeApprovalWait(db: Db, metrics: Metrics, actionId: string, outcome: 'approved' | 'denied'): Promise<void> {
  const [row] = await db.select({ createdAt: actions.createdAt }).from(actions).where(eq(actions.id, actionId)).limit(1);
  if (row) metrics.approvalCompleted(outcome, (Date.now() - row.createdAt.getTime()) / 1000);
}
