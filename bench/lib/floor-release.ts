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
import { commitStarted, leaseMsFor } from '../../src/release/claim';
import { actionRowFromJson } from '../../src/release/row';
import { READ_BATCH, RELEASE_BATCH, writeRelease, type ReleaseWrite } from '../../src/release/writer';
import { callExecutor } from '../../src/executor/client';
import { executorRequest } from '../../src/release/release-commit';
import { findExecutor } from '../../src/executor/registry';

/** One release with its evidence; resolves when the executor has answered (the record is written in the background, as Countersign's worker does). */
export type FloorRelease = { release(actionId: string): Promise<void>; idle(): Promise<void> };

export function floorRelease(db: Db, config: FileConfig): FloorRelease {
  // Countersign's reader and writer batch limits, its lease, its evidence and its executor request.
  const reader = groupCommit<string, ReadRow | undefined>(async (ids) => {
    const byId = new Map((await readRows(db, [...new Set(ids)])).map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id));
  }, READ_BATCH);
  const writer = groupCommit<ReleaseWrite, unknown>((writes) => writeRelease(db, writes), RELEASE_BATCH);
  return {
    async release(actionId) {
      const found = await reader.submit(actionId);
      if (!found) throw new Error(`release floor: no action ${actionId}`);
      const read = actionRowFromJson(found.row);
      const row = { ...read, status: 'executing' as const, attempts: read.attempts + 1 };
      const executor = findExecutor(config, row.executor!)!;
      const plan = { kind: 'optimistic' as const, row, rowVersion: found.row_version, leaseMs: leaseMsFor({ config }, row.executor), event: commitStarted(row, false, { config }) };
      const claimed = (await writer.submit({ kind: 'claim', plan })) as { kind: string };
      if (claimed.kind !== 'claimed') throw new Error(`release floor: ${actionId} not claimed (${claimed.kind})`);
      const outcome = await callExecutor(executor, executorRequest(row));
      // A record that fails leaves its action uncommitted: the bench's drain then runs out its time and says so.
      writer.submit({ kind: 'outcome', record: { row, outcome, maxAttempts: executor.max_attempts } }).catch((err: unknown) => {
        process.stderr.write(`release floor: ${actionId} not recorded: ${String(err)}\n`);
      });
    },
    idle: () => writer.idle(),
  };
}
