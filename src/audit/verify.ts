import { asc, eq, gt } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { auditEvents, type AuditEventRow } from '../db/schema';
import { GENESIS_HASH, eventHash } from './append';

export type ChainBreakKind = 'edited' | 'deleted' | 'reordered';

export type ChainBreak = {
  kind: ChainBreakKind;
  /** The first record at which the chain stops holding. */
  seq: number;
  id: string;
  detail: string;
};

export type VerifyResult = {
  ok: boolean;
  checked: number;
  /** The last record checked: an anchor to keep elsewhere (truncation of the tail shows only against one). */
  head: { seq: number; id: string; hash: string } | null;
  break: ChainBreak | null;
};

export type VerifyOptions = {
  batchSize?: number;
  /** Progress callback after each batch. */
  onBatch?(checked: number, lastSeq: number): void;
  /** A head recorded earlier (`seq:hash`): the chain must still contain it, unchanged. */
  anchor?: { seq: number; hash: string };
};

/**
 * Walks the hash chain in seq order, in batches (constant memory), and names the first record where it
 * breaks: a record whose hash no longer matches its contents was edited; a record whose prev_hash points
 * at a record that comes later was reordered; a prev_hash that points at nothing left means records were
 * deleted before it (or the one before was edited and re-hashed, which deletes the old version in effect).
 */
export async function verifyChain(db: DbOrTx, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const batchSize = opts.batchSize ?? 2000;
  let prev = null as Pick<AuditEventRow, 'seq' | 'id' | 'hash'> | null;
  let lastSeq = 0;
  let checked = 0;
  let anchorSeen = false;
  for (;;) {
    const rows = await db
      .select()
      .from(auditEvents)
      .where(gt(auditEvents.seq, lastSeq))
      .orderBy(asc(auditEvents.seq))
      .limit(batchSize);
    if (rows.length === 0) break;
    for (const row of rows) {
      const found = await checkOne(db, prev, row);
      if (found) return { ok: false, checked, head: prev && { seq: prev.seq, id: prev.id, hash: prev.hash ?? '' }, break: found };
      if (opts.anchor && row.seq === opts.anchor.seq) {
        anchorSeen = true;
        if (row.hash !== opts.anchor.hash) {
          return { ok: false, checked, head: null, break: { kind: 'edited', seq: row.seq, id: row.id, detail: `record ${row.seq} no longer has the anchored hash ${opts.anchor.hash.slice(0, 16)}…` } };
        }
      }
      checked++;
      prev = row;
      lastSeq = row.seq;
    }
    opts.onBatch?.(checked, lastSeq);
    if (rows.length < batchSize) break;
  }
  const head = prev && { seq: prev.seq, id: prev.id, hash: prev.hash ?? '' };
  if (opts.anchor && !anchorSeen) {
    const tail = prev ? `the chain now ends at ${prev.seq}` : 'the chain is empty';
    return { ok: false, checked, head, break: { kind: 'deleted', seq: opts.anchor.seq, id: '', detail: `anchored record ${opts.anchor.seq} is gone (${tail})` } };
  }
  return { ok: true, checked, head, break: null };
}

async function checkOne(db: DbOrTx, prev: Pick<AuditEventRow, 'seq' | 'id' | 'hash'> | null, row: AuditEventRow): Promise<ChainBreak | null> {
  const expectedPrev = prev?.hash ?? GENESIS_HASH;
  if (!row.hash || !row.prevHash) return { kind: 'edited', seq: row.seq, id: row.id, detail: `record ${row.seq} has no hash` };
  const recomputed = eventHash(row.prevHash, row);
  if (recomputed !== row.hash) {
    return { kind: 'edited', seq: row.seq, id: row.id, detail: `record ${row.seq} (${row.id}, ${row.type}) does not match its hash: its contents were changed` };
  }
  if (row.prevHash === expectedPrev) return null;

  // The link is broken. Where does prev_hash point?
  const [target] = await db
    .select({ seq: auditEvents.seq, id: auditEvents.id })
    .from(auditEvents)
    .where(eq(auditEvents.hash, row.prevHash))
    .limit(1);
  if (target && target.seq > row.seq) {
    return {
      kind: 'reordered',
      seq: row.seq,
      id: row.id,
      detail: `record ${row.seq} (${row.id}) follows record ${target.seq} in the chain but is stored before it: records were reordered`,
    };
  }
  if (row.prevHash === GENESIS_HASH && prev) {
    return { kind: 'reordered', seq: row.seq, id: row.id, detail: `record ${row.seq} (${row.id}) is the first record of the chain but is stored after ${prev.seq}` };
  }
  const after = prev ? `after record ${prev.seq} (${prev.id})` : 'at the start of the chain';
  const gap = prev ? row.seq - prev.seq - 1 : row.seq - 1;
  return {
    kind: 'deleted',
    seq: row.seq,
    id: row.id,
    detail:
      `record ${row.seq} (${row.id}) does not follow the record before it: ` +
      (gap > 0 ? `records are missing ${after} (seq gap of ${gap})` : `the record ${after} was replaced (edited and re-hashed) or records before it deleted`),
  };
}
