/**
 * Group commit: callers submit one item each; items that arrive while earlier writes are in flight are
 * written together by the next write. An idle writer writes at once (a lone request waits for nobody);
 * under load batches grow by themselves, so the number of statements and commits per item falls as the
 * load rises. This is how databases amortise their own log flushes.
 *
 * `write` gets a batch and answers one result per item, in order. When a batch of several fails as a
 * whole, each item is written again on its own, so one bad item cannot take its neighbours down with it
 * (`write` must therefore be all-or-nothing per call, e.g. one statement or one transaction).
 */
export type GroupCommitOptions = {
  /** Most items per write. */
  maxBatch: number;
  /** Writes allowed in flight at once (each uses one database connection). */
  maxInFlight: number;
  /**
   * What a batch that fails as a whole does: `isolate` (the default) writes each item again on its own;
   * `fail` rejects every item with the batch's error, for writes that must not be sent twice (a call that
   * timed out may have been applied).
   */
  onBatchError?: 'isolate' | 'fail';
};

export type GroupCommit<I, O> = {
  submit(item: I): Promise<O>;
  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void>;
};

type Pending<I, O> = { item: I; resolve(o: O): void; reject(e: unknown): void };

export function groupCommit<I, O>(write: (items: I[]) => Promise<O[]>, opts: GroupCommitOptions): GroupCommit<I, O> {
  const queue: Array<Pending<I, O>> = [];
  let inFlight = 0;
  let idleWaiters: Array<() => void> = [];

  function pump(): void {
    while (inFlight < opts.maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, opts.maxBatch);
      inFlight++;
      run(batch).finally(() => {
        inFlight--;
        pump();
        if (inFlight === 0 && queue.length === 0) {
          for (const w of idleWaiters) w();
          idleWaiters = [];
        }
      });
    }
  }

  async function run(batch: Array<Pending<I, O>>): Promise<void> {
    try {
      const results = await write(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new Error(`group commit: ${results.length} results for ${batch.length} items`);
      batch.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      if (batch.length === 1 || opts.onBatchError === 'fail') return batch.forEach((p) => p.reject(err));
      // Isolate the failure: every item gets its own write (and its own error, if it is the bad one).
      await Promise.all(batch.map((p) => run([p])));
    }
  }

  return {
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        pump();
      });
    },
    idle() {
      if (inFlight === 0 && queue.length === 0) return Promise.resolve();
      return new Promise<void>((r) => idleWaiters.push(r));
    },
  };
}
