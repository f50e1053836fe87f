import { Counter, Gauge, type Registry } from 'prom-client';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/client';
import { execRows } from '../db/exec';
import { logger } from '../lib/logger';
import { withTimeout } from './metrics';

/** The states in which an action waits for something: a human, a worker, an executor. */
const WAITING_STATES = ['pending_approval', 'approved', 'queued', 'executing'] as const;

export type OperatorMetrics = ReturnType<typeof addOperatorMetrics>;

/**
 * What an operator watches during and after a fault (docs/operations.md, "What an operator sees"), on the
 * instance's registry: the actions waiting in PostgreSQL by state and age, reconciliation re-queues, lease
 * take-overs, and whether each dependency is up (from the dependency probe, not a fresh check per scrape).
 *
 * The backlog is read from PostgreSQL at scrape time (the open-status index, within `timeoutMs`); every
 * instance reports the same figures, so dashboards take `max` over instances. When a read fails the last
 * figures stay and `countersign_actions_waiting_read_timestamp_seconds` stops moving: lines never vanish.
 */
export function addOperatorMetrics(
  registry: Registry,
  opts: { db?: Db; dependencies?: () => Record<string, boolean>; timeoutMs?: number },
) {
  const timeoutMs = opts.timeoutMs ?? 1000;
  new Gauge({
    name: 'countersign_dependency_up',
    help: 'Whether each backing service answered the last readiness probe (1 up, 0 down)',
    labelNames: ['dependency'] as const,
    registers: [registry],
    collect() {
      for (const [dependency, up] of Object.entries(opts.dependencies?.() ?? {})) this.set({ dependency }, up ? 1 : 0);
    },
  });

  const waiting = new Gauge({
    name: 'countersign_actions_waiting',
    help: 'Actions in PostgreSQL waiting in each open state (pending_approval, approved, queued, executing)',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const oldest = new Gauge({
    name: 'countersign_actions_waiting_oldest_seconds',
    help: 'Age of the longest-waiting action in each open state, since its row last changed',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  const leaseExpired = new Gauge({
    name: 'countersign_actions_lease_expired',
    help: 'Executing actions whose lease ran out: their worker is gone and a take-over is due',
    registers: [registry],
  });
  const readAt = new Gauge({
    name: 'countersign_actions_waiting_read_timestamp_seconds',
    help: 'When the waiting-actions figures were last read from PostgreSQL (unix seconds)',
    registers: [registry],
    async collect() {
      if (!opts.db) return;
      try {
        const rows = await withTimeout(
          execRows<{ status: string; n: number; oldest: number; expired: number }>(
            opts.db,
            sql`select status, count(*)::int as n,
                       coalesce(extract(epoch from now() - min(updated_at)), 0)::float8 as oldest,
                       (count(*) filter (where status = 'executing' and lease_expires_at < now()))::int as expired
                from actions where status in ('pending_approval', 'approved', 'queued', 'executing') group by status`,
          ),
          timeoutMs,
        );
        let expired = 0;
        for (const state of WAITING_STATES) {
          const row = rows.find((r) => r.status === state);
          waiting.set({ state }, row ? Number(row.n) : 0);
          oldest.set({ state }, row ? Number(row.oldest) : 0);
          expired += row ? Number(row.expired) : 0;
        }
        leaseExpired.set(expired);
        this.set(Date.now() / 1000);
      } catch (err) {
        logger.warn({ err }, 'could not read the waiting actions for /metrics; the last figures stay');
      }
    },
  });

  const requeued = new Counter({
    name: 'countersign_reconcile_requeued_total',
    help: 'Actions reconciliation queued again (approved or queued with no commit job: a lost enqueue, a flushed Redis)',
    registers: [registry],
  });
  const takeovers = new Counter({
    name: 'countersign_lease_takeovers_total',
    help: 'Executing actions claimed again after their lease ran out (the worker that held them died or hung)',
    labelNames: ['executor'] as const,
    registers: [registry],
  });
  const claimReads = new Counter({
    name: 'countersign_release_claim_reads_total',
    help: "Release claims by where their action row was read: 'ahead' (read with the next jobs in line, src/release/read-ahead.ts) or 'own'",
    labelNames: ['read'] as const,
    registers: [registry],
  });
  for (const read of ['ahead', 'own'] as const) claimReads.inc({ read }, 0); // both lines exist from the start
  return {
    requeued(n: number) {
      if (n > 0) requeued.inc(n);
    },
    leaseTakenOver(executor: string) {
      takeovers.inc({ executor });
    },
    claimRead(read: 'ahead' | 'own') {
      claimReads.inc({ read });
    },
    /** Exposed for tests: whether the backlog figures were ever read. */
    readAt,
  };
}
