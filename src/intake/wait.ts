import { eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { actions, type ActionRow } from '../db/schema';
import { isTerminal } from '../approvals/status';

export const MAX_WAIT_SECONDS = 60;
const POLL_INTERVAL_MS = 200;

/**
 * The long poll behind `GET /v1/actions/:id?wait=N`: resolves with the row as soon as its status differs
 * from `since` (the status the client last saw), or when the wait ends, the client goes away or the server
 * shuts down — whichever comes first. A terminal status answers at once: it will never change.
 *
 * Polling one indexed row every 200 ms is cheap and needs no LISTEN connection per waiter; the cost is up to
 * 200 ms of extra latency on a change, well under what a human approval takes.
 */
export async function waitForStatusChange(
  db: Db,
  row: ActionRow,
  opts: { since: string; waitMs: number; signal?: AbortSignal; intervalMs?: number },
): Promise<ActionRow> {
  const deadline = Date.now() + opts.waitMs;
  const interval = opts.intervalMs ?? POLL_INTERVAL_MS;
  let current = row;
  while (current.status === opts.since && !isTerminal(current.status) && !opts.signal?.aborted) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    await sleep(Math.min(interval, left), opts.signal);
    if (opts.signal?.aborted) break;
    const [fresh] = await db.select().from(actions).where(eq(actions.id, row.id)).limit(1);
    if (!fresh) break;
    current = fresh;
  }
  return current;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
