// The release floor: what a commit worker must do for one approved action to keep the release's evidence —
// read the row (the claim is conditional on the version read), claim it with `commit.started`, make the
// executor call, record the answer with `commit.succeeded` — through Countersign's own statements and
// group commits (src/release/claim-read.ts, writer.ts, outcome.ts), and nothing else: no re-checks (kill
// switch, policy, payload hash, release window, controls), no read-ahead, no plan check, no rate limit, no
// announcement, no metrics. bench/release.ts runs it beside Countersign's worker and a plain BullMQ worker.
import type { Db } from '../../src/db/client';
import type { FileConfig } from '../../src/config/file-config';
import { groupCommit } from '../../src/lib/group-commit';
import { readRows, type ReadRow } from '../../src/release/claim-read';
import { commitStarted } from '../../src/release/claim';
import { actionRowFromJson } from '../../src/release/row';
import { writeRelease, type ReleaseWrite } from '../../src/release/writer';
import { callExecutor } from '../../src/executor/client';
import { executorRequest } from '../../src/release/release-commit';
import { findExecutor } from '../../src/executor/registry';

/** One release with its evidence; resolves when the executor has answered (the record is written in the background, as Countersign's worker does). */
export type FloorRelease = { release(actionId: string): Promise<void>; idle(): Promise<void> };

export function floorRelease(db: Db, config: FileConfig): FloorRelease {
  // The same batch limits as Countersign's reader and writer (src/release/writer.ts).
  const reader = groupCommit<string, ReadRow | undefined>(async (ids) => {
    const byId = new Map((await readRows(db, [...new Set(ids)])).map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }, { maxBatch: 64, maxInFlight: 2 });
  const writer = groupCommit<ReleaseWrite, unknown>((writes) => writeRelease(db, writes), { maxBatch: 64, maxInFlight: 1 });
  const recording = new Set<Promise<unknown>>();
  return {
    async release(actionId) {
      const found = await reader.submit(actionId);
      if (!found) throw new Error(`release floor: no action ${actionId}`);
      const read = actionRowFromJson(found.row);
      const row = { ...read, status: 'executing' as const, attempts: read.attempts + 1 };
      const executor = findExecutor(config, row.executor!)!;
      const claimed = (await writer.submit({ kind: 'claim', plan: { kind: 'optimistic', row, rowVersion: found.row_version, leaseMs: 60_000, event: commitStarted(row, false, { config }) } })) as { kind: string };
      if (claimed.kind !== 'claimed') throw new Error(`release floor: ${actionId} not claimed (${claimed.kind})`);
      const outcome = await callExecutor(executor, executorRequest(row));
      const record = writer.submit({ kind: 'outcome', record: { row, outcome, maxAttempts: executor.max_attempts } });
      recording.add(record);
      void record.finally(() => recording.delete(record));
    },
    async idle() {
      while (recording.size) await Promise.allSettled([...recording]);
    },
  };
}
