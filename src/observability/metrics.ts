import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { logger } from '../lib/logger';

/** What the queue-depth gauge needs from a BullMQ queue (a Queue satisfies it). */
export type CountableQueue = { name: string; getJobCounts(...types: string[]): Promise<Record<string, number>> };

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

export type MetricsOptions = {
  /** Queues whose depth is read (with a timeout) at every scrape. */
  queues?: CountableQueue[];
  /** Process metrics (CPU, memory, event loop lag). Default true. */
  processMetrics?: boolean;
  /** A scrape never waits longer than this for Redis. */
  queueTimeoutMs?: number;
};

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * One registry per app instance (not prom-client's global default), so several instances in one process
 * — tests, benchmarks — never collide. Names follow Prometheus conventions: `_total` counters, `_seconds` units.
 */
export function createMetrics(opts: MetricsOptions = {}) {
  const registry = new Registry();
  if (opts.processMetrics !== false) collectProcessMetrics(registry);

  const decisions = new Counter({
    name: 'countersign_decisions_total',
    help: 'Policy decisions at intake, by decision and the status the action was given',
    labelNames: ['decision', 'status'] as const,
    registers: [registry],
  });
  const approvalWait = new Histogram({
    name: 'countersign_approval_wait_seconds',
    help: 'Time from escalation to the human answer that settled it (approved or denied)',
    labelNames: ['outcome'] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600],
    registers: [registry],
  });
  const executorCalls = new Counter({
    name: 'countersign_executor_calls_total',
    help: 'Calls to executors, by executor and result (success, terminal, retriable)',
    labelNames: ['executor', 'result'] as const,
    registers: [registry],
  });
  const executorLatency = new Histogram({
    name: 'countersign_executor_latency_seconds',
    help: 'Executor call latency, by executor and result',
    labelNames: ['executor', 'result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const releases = new Counter({
    name: 'countersign_releases_total',
    help: 'Commit jobs processed by the release worker, by outcome (committed, failed, refused, retry, throttled, skipped)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const problems = new Counter({
    name: 'countersign_problem_responses_total',
    help: 'application/problem+json responses, by problem code (rate-limited and budget-exhausted are refusals)',
    labelNames: ['code', 'status'] as const,
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: 'countersign_http_requests_total',
    help: 'HTTP requests, by method, matched route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'countersign_http_request_duration_seconds',
    help: 'HTTP request duration, by method and matched route (long polls included)',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30, 60],
    registers: [registry],
  });
  const queues = opts.queues ?? [];
  const queueTimeoutMs = opts.queueTimeoutMs ?? 1000;
  const queueReadAt = new Gauge({
    name: 'countersign_queue_jobs_read_timestamp_seconds',
    help: 'When each queue\'s depth was last read from Redis (unix seconds); stops moving while Redis is down',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'countersign_queue_jobs',
    help: 'Jobs in each BullMQ queue by state, read at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      // No reset: while Redis is down the last figures stay (and their read timestamp stops), so the lines
      // do not silently vanish from dashboards and alerts.
      await Promise.all(
        queues.map(async (q) => {
          try {
            // With Redis down, BullMQ commands wait for a reconnect; a scrape must not hang with them.
            const counts = await withTimeout(q.getJobCounts(...QUEUE_STATES), queueTimeoutMs);
            for (const state of QUEUE_STATES) this.set({ queue: q.name, state }, counts[state] ?? 0);
            queueReadAt.set({ queue: q.name }, Date.now() / 1000);
          } catch (err) {
            logger.warn({ err, queue: q.name }, 'could not read queue depth for /metrics; the last figures stay');
          }
        }),
      );
    },
  });

  return {
    registry,
    /** Called once per created action, after its transaction committed. */
    decided(decision: string, status: string) {
      decisions.inc({ decision, status });
    },
    approvalCompleted(outcome: 'approved' | 'denied', waitSeconds: number) {
      approvalWait.observe({ outcome }, Math.max(0, waitSeconds));
    },
    executorCalled(executor: string, result: string, latencyMs: number) {
      executorCalls.inc({ executor, result });
      executorLatency.observe({ executor, result }, latencyMs / 1000);
    },
    released(outcome: string) {
      releases.inc({ outcome });
    },
    problem(code: string, status: number) {
      problems.inc({ code, status: String(status) });
    },
    httpRequest(method: string, route: string, status: number, seconds: number) {
      httpRequests.inc({ method, route, status: String(status) });
      httpDuration.observe({ method, route }, seconds);
    },
  };
}

/**
 * prom-client's default process metrics, without the three gauges whose names end in `_total`, which
 * Prometheus reserves for counters (`promtool check metrics` refuses them). The same counts stay exported as
 * `countersign_nodejs_active_{handles,requests,resources}`, which prom-client registers beside them.
 */
function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry, prefix: 'countersign_' });
  for (const name of ['active_handles', 'active_requests', 'active_resources']) registry.removeSingleMetric(`countersign_nodejs_${name}_total`);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export { withTimeout };
