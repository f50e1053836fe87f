import type { Db } from '../db/client';
import { execNamed, type NamedStatement } from '../db/exec-named';
import { columnJson } from '../db/json-insert';
import { actions } from '../db/schema';
import { laneFor, type AuditEventInput } from '../audit/append';
import { eventTemplate } from '../audit/chain-template';
import { groupCommit, type GroupCommitOptions } from '../lib/group-commit';
import type { ReceiptFields, SignedReceipt } from '../receipts';

/** One allowed request's records: its action row (already `queued`), its evidence, and the credentials it was checked with. */
export type QueuedActionWrite = {
  row: typeof actions.$inferInsert & { id: string };
  events: AuditEventInput[];
  credentials: { agentId: string; tokenId: string; scopes: string[]; rateLimitPerMinute: number | null };
  /** What its receipt states: signed with the rest of the batch and put into the stored response (`receipt`). */
  receipt?: ReceiptFields;
};

/** What the database did with one request: written; its idempotency key was taken; or its credentials changed meanwhile. */
export type WriteOutcome = 'inserted' | 'duplicate' | 'stale-credentials';

export type IntakeWriter = {
  write(item: QueuedActionWrite): Promise<WriteOutcome>;
  idle(): Promise<void>;
};

export const DEFAULT_INTAKE_BATCH: GroupCommitOptions = { maxBatch: 128, maxInFlight: 2 };

/**
 * The allow path's writer. Requests that arrive together are written together: one `intake_commit` call
 * (drizzle/0008) per batch, one statement and one commit for all of them, holding one evidence lane lock.
 * `afterCommit` gets the ids of the actions each batch created, once it has committed (they are enqueued then;
 * a crash before that leaves them `queued` without a job, which reconciliation finds). The batch's receipts are
 * signed together just before it is written (`signReceipts`).
 */
export function createIntakeWriter(
  db: Db,
  opts: {
    batch?: GroupCommitOptions;
    afterCommit?(actionIds: string[]): void;
    /** Signs the batch's receipts together (ReceiptSigner.signBatch: one signature over a Merkle root). */
    signReceipts?(fields: ReceiptFields[]): Promise<SignedReceipt[]>;
  } = {},
): IntakeWriter {
  const commit = groupCommit<QueuedActionWrite, WriteOutcome>(async (items) => {
    await signReceipts(items, opts.signReceipts);
    const outcomes = await writeBatch(db, items);
    const created = items.filter((_, i) => outcomes[i] === 'inserted').map((it) => it.row.id);
    if (created.length) opts.afterCommit?.(created);
    return outcomes;
  }, opts.batch ?? DEFAULT_INTAKE_BATCH);
  return { write: (item) => commit.submit(item), idle: () => commit.idle() };
}

/**
 * One signature for the batch (issue #20: one Ed25519 signature per request was a twentieth of the intake's CPU).
 * Each response is stored with its receipt, so a replay returns the very same bytes.
 */
async function signReceipts(items: QueuedActionWrite[], sign: ((fields: ReceiptFields[]) => Promise<SignedReceipt[]>) | undefined): Promise<void> {
  const signing = items.filter((it) => it.receipt);
  if (signing.length === 0) return;
  if (!sign) throw new Error('intake writer: receipts to sign but no signer');
  const receipts = await sign(signing.map((it) => it.receipt!));
  signing.forEach((it, i) => ((it.row.responseBody as Record<string, unknown>).receipt = receipts[i]));
}

/**
 * intake_commit names its columns, so a value not sent is NULL there, not the column default: the writer
 * sends every named column, with the schema's defaults for those a caller may leave out.
 */
const COLUMN_DEFAULTS = {
  dryRun: false,
  preview: null,
  justification: '',
  onBehalfOf: null,
  ruleId: null,
  escalation: null,
  approverGroup: null,
  approvalsRequired: 0,
  expiresAt: null,
  approvedAt: null,
  approvedPayloadHash: null,
  responseStatus: null,
  responseBody: null,
} satisfies Partial<typeof actions.$inferInsert>;

/** Prepared (src/db/exec-named.ts): one round trip per batch instead of two. */
const INTAKE_COMMIT: NamedStatement = { name: 'intake_commit', text: 'select action_id, outcome from intake_commit($1::jsonb)' };

async function writeBatch(db: Db, items: QueuedActionWrite[]): Promise<WriteOutcome[]> {
  // The whole batch is linked into one lane (one lock per transaction, as append.ts does); later events of
  // each action go to the action's own lane, and seq orders them across lanes.
  const lane = laneFor({ actionId: items[0]!.row.id });
  const payload = {
    lane,
    actions: columnJson(actions, items.map((it) => ({ ...COLUMN_DEFAULTS, ...it.row }))).payload,
    credentials: items.map((it) => ({
      action_id: it.row.id,
      agent_id: it.credentials.agentId,
      token_id: it.credentials.tokenId,
      scopes: it.credentials.scopes,
      rate_limit_per_minute: it.credentials.rateLimitPerMinute,
    })),
    events: items.flatMap((it) => it.events.map((e) => eventTemplate(e, lane))),
  };
  const rows = await execNamed<{ action_id: string; outcome: WriteOutcome }>(db, INTAKE_COMMIT, [JSON.stringify(payload)]);
  const byId = new Map(rows.map((r) => [r.action_id, r.outcome]));
  return items.map((it) => {
    const outcome = byId.get(it.row.id);
    if (!outcome) throw new Error(`intake_commit returned no outcome for ${it.row.id}`);
    return outcome;
  });
}
