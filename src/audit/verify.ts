import { and, asc, eq, gt } from 'drizzle-orm';
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

/** The last record of one lane: anchors kept elsewhere catch truncation of a lane's tail. */
export type LaneHead = { lane: number; seq: number; hash: string };

export type VerifyResult = {
  ok: boolean;
  checked: number;
  /** The last record checked in each lane (up to the break, if any). */
  heads: LaneHead[];
  break: ChainBreak | null;
};

export type VerifyOptions = {
  batchSize?: number;
  /** Progress callback after each batch. */
  onBatch?(checked: number, lastSeq: number): void;
  /** Heads recorded earlier (`formatAnchor`): each record must still be there, unchanged. */
  anchors?: LaneHead[];
};

type Link = Pick<AuditEventRow, 'seq' | 'id' | 'hash'>;

/** `lane:seq:hash,…`: what `audit verify` prints and takes back with --anchor. */
export function formatAnchor(heads: LaneHead[]): string {
  return heads.map((h) => `${h.lane}:${h.seq}:${h.hash}`).join(',');
}

export function parseAnchor(text: string): LaneHead[] | null {
  const out: LaneHead[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+):(\d+):([0-9a-f]{64})$/.exec(part.trim());
    if (!m) return null;
    out.push({ lane: Number(m[1]), seq: Number(m[2]), hash: m[3]! });
  }
  return out;
}

/**
 * Walks the evidence in seq order, in batches (constant memory), checking every record's hash and its link
 * to the record before it in its lane, and names the first record where that fails: a record whose
 * prev_hash points at a record stored after it was reordered; one whose hash no longer matches its
 * contents (or its position: seq is hashed) was edited; one whose prev_hash points at nothing left comes
 * after deleted records (or after a record that was edited and re-hashed).
 */
export async function verifyChain(db: DbOrTx, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const batchSize = opts.batchSize ?? 2000;
  const prevByLane = new Map<number, Link>();
  const anchors = new Map((opts.anchors ?? []).map((a) => [a.seq, a]));
  const anchorsSeen = new Set<number>();
  let lastSeq = 0;
  let checked = 0;
  const heads = () => [...prevByLane.entries()].sort(([a], [b]) => a - b).map(([lane, l]) => ({ lane, seq: l.seq, hash: l.hash ?? '' }));
  for (;;) {
    const rows = await db.select().from(auditEvents).where(gt(auditEvents.seq, lastSeq)).orderBy(asc(auditEvents.seq)).limit(batchSize);
    if (rows.length === 0) break;
    for (const row of rows) {
      const found = await checkOne(db, prevByLane.get(row.chainLane) ?? null, row);
      if (found) return { ok: false, checked, heads: heads(), break: found };
      const anchor = anchors.get(row.seq);
      if (anchor) {
        anchorsSeen.add(row.seq);
        if (row.hash !== anchor.hash || row.chainLane !== anchor.lane) {
          return { ok: false, checked, heads: heads(), break: { kind: 'edited', seq: row.seq, id: row.id, detail: `record ${row.seq} no longer has the anchored hash ${anchor.hash.slice(0, 16)}…` } };
        }
      }
      checked++;
      prevByLane.set(row.chainLane, row);
      lastSeq = row.seq;
    }
    opts.onBatch?.(checked, lastSeq);
    if (rows.length < batchSize) break;
  }
  for (const a of opts.anchors ?? []) {
    if (!anchorsSeen.has(a.seq)) {
      const now = prevByLane.get(a.lane);
      return {
        ok: false,
        checked,
        heads: heads(),
        break: { kind: 'deleted', seq: a.seq, id: '', detail: `anchored record ${a.seq} of lane ${a.lane} is gone (the lane now ends at ${now ? now.seq : 'nothing'})` },
      };
    }
  }
  return { ok: true, checked, heads: heads(), break: null };
}

async function checkOne(db: DbOrTx, prev: Link | null, row: AuditEventRow): Promise<ChainBreak | null> {
  if (!row.hash || !row.prevHash) return { kind: 'edited', seq: row.seq, id: row.id, detail: `record ${row.seq} has no hash` };
  const expectedPrev = prev?.hash ?? GENESIS_HASH;
  const hashOk = eventHash(row.prevHash, row) === row.hash;
  const linkOk = row.prevHash === expectedPrev;
  if (hashOk && linkOk) return null;

  // Where does prev_hash point? At a record stored later: the two were swapped or moved.
  if (row.prevHash !== GENESIS_HASH && row.prevHash !== expectedPrev) {
    const [target] = await db
      .select({ seq: auditEvents.seq, id: auditEvents.id })
      .from(auditEvents)
      .where(and(eq(auditEvents.hash, row.prevHash), eq(auditEvents.chainLane, row.chainLane)))
      .limit(1);
    if (target && target.seq > row.seq) {
      return { kind: 'reordered', seq: row.seq, id: row.id, detail: `record ${row.seq} (${row.id}) follows record ${target.seq} in its chain but is stored before it: records were reordered` };
    }
  }
  if (!hashOk) {
    return { kind: 'edited', seq: row.seq, id: row.id, detail: `record ${row.seq} (${row.id}, ${row.type}) does not match its hash: its contents or its position were changed` };
  }
  if (row.prevHash === GENESIS_HASH && prev) {
    return { kind: 'reordered', seq: row.seq, id: row.id, detail: `record ${row.seq} (${row.id}) is the first record of lane ${row.chainLane} but is stored after ${prev.seq}` };
  }
  const after = prev ? `after record ${prev.seq} (${prev.id})` : `at the start of lane ${row.chainLane}`;
  return {
    kind: 'deleted',
    seq: row.seq,
    id: row.id,
    detail: `record ${row.seq} (${row.id}) does not follow the record before it in lane ${row.chainLane}: records are missing ${after}, or that record was replaced (edited and re-hashed)`,
  };
}
