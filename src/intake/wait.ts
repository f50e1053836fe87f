import { eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/client';
import { actions, type ActionRow } from '../db/schema';
import { isTerminal } from '../approvals/status';
import { Problem } from '../lib/errors';
import { logger } from '../lib/logger';

export const MAX_WAIT_SECONDS = 60;
const POLL_INTERVAL_MS = 200;
/** What a refused long poll is told to wait before trying again. */
const RETRY_AFTER_SECONDS = 2;

export type LongPollLimits = {
  /** Long polls one agent may hold open at once on this instance (COUNTERSIGN_LONG_POLL_MAX_PER_AGENT). */
  perAgent: number;
  /** Long polls all agents together may hold open on this instance (COUNTERSIGN_LONG_POLL_MAX_TOTAL). */
  total: number;
  intervalMs?: number;
};

/** What the routes that hold long polls need besides the intake's deps (one watcher per instance, from main.ts). */
export type LongPollDeps = { longPolls: StatusWatcher };

export type WaitOptions = { agentId: string; since: string; waitMs: number; signal?: AbortSignal };

export type StatusWatcher = {
  /**
   * The long poll behind `GET /v1/actions/:id?wait=N` and MCP's `wait_seconds`: resolves with the row as
   * soon as its status differs from `since` (the status the client last saw), or when the wait ends, the
   * client goes away or the server shuts down, whichever comes first. A terminal status answers at once.
   * Throws `too-many-long-polls` (429, Retry-After) when the agent's or the instance's cap is reached.
   */
  wait(row: ActionRow, opts: WaitOptions): Promise<ActionRow>;
  /** Long polls waiting now. */
  readonly active: number;
};

type Waiter = { id: string; since: string; finish(row: ActionRow | null): void };

/**
 * One poller for every long poll of this instance: each tick reads the status of all waited-for actions in
 * one query (and the full rows of the few that changed), so 300 waiters cost what one does. It runs only
 * while someone waits. LISTEN/NOTIFY would save the ticks but needs a session connection, which PgBouncer
 * in transaction mode does not give; a change is seen at most one interval late, well under what a human
 * approval takes.
 */
export function createStatusWatcher(db: Db, limits: LongPollLimits): StatusWatcher {
  const interval = limits.intervalMs ?? POLL_INTERVAL_MS;
  const waiters = new Set<Waiter>();
  const perAgent = new Map<string, number>();
  let timer: NodeJS.Timeout | null = null;

  const schedule = () => {
    if (timer || waiters.size === 0) return;
    timer = setTimeout(() => void tick(), interval);
    timer.unref();
  };

  async function tick(): Promise<void> {
    try {
      if (waiters.size === 0) return;
      const ids = [...new Set([...waiters].map((w) => w.id))];
      const seen = await db.select({ id: actions.id, status: actions.status }).from(actions).where(inArray(actions.id, ids));
      const status = new Map(seen.map((r) => [r.id, r.status]));
      const moved = [...waiters].filter((w) => status.get(w.id) !== w.since);
      if (moved.length === 0) return;
      const rows = await db.select().from(actions).where(inArray(actions.id, [...new Set(moved.map((w) => w.id))]));
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const w of moved) w.finish(byId.get(w.id) ?? null);
    } catch (err) {
      logger.warn({ err }, 'long-poll status check failed; retrying at the next tick');
    } finally {
      timer = null;
      schedule();
    }
  }

  function admit(agentId: string): void {
    const mine = perAgent.get(agentId) ?? 0;
    const scope = mine >= limits.perAgent ? 'agent' : waiters.size >= limits.total ? 'instance' : null;
    if (scope) {
      const limit = scope === 'agent' ? limits.perAgent : limits.total;
      throw new Problem('too-many-long-polls', `this ${scope} already holds ${limit} long polls open; ask again without wait, or retry after ${RETRY_AFTER_SECONDS} s`, {
        retryAfterSeconds: RETRY_AFTER_SECONDS,
        extensions: { scope, limit },
      });
    }
    perAgent.set(agentId, mine + 1);
  }

  function release(agentId: string): void {
    const left = (perAgent.get(agentId) ?? 1) - 1;
    if (left <= 0) perAgent.delete(agentId);
    else perAgent.set(agentId, left);
  }

  return {
    get active() {
      return waiters.size;
    },
    async wait(row, opts) {
      if (row.status !== opts.since || isTerminal(row.status) || opts.waitMs <= 0 || opts.signal?.aborted) return row;
      admit(opts.agentId);
      const changed = await new Promise<ActionRow | null>((resolve) => {
        const waiter: Waiter = {
          id: row.id,
          since: opts.since,
          finish(found) {
            if (!waiters.delete(waiter)) return;
            release(opts.agentId);
            clearTimeout(deadline);
            opts.signal?.removeEventListener('abort', onAbort);
            resolve(found);
          },
        };
        const onAbort = () => waiter.finish(null);
        const deadline = setTimeout(onAbort, opts.waitMs);
        waiters.add(waiter);
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        schedule();
      });
      if (changed) return changed;
      // Client gone or server stopping: nobody needs a fresh answer (and the database may be closing).
      if (opts.signal?.aborted) return row;
      // The wait ran out: one read for the row as it stands, instead of one per tick all along.
      const [fresh] = await db.select().from(actions).where(eq(actions.id, row.id)).limit(1);
      return fresh ?? row;
    },
  };
}
