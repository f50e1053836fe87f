import { appendFileSync, readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client';
import { execRows } from '../db/exec';
import { signDocument, verifyDocument, type KeyProtection, type KeySet, type SignedDocument } from '../receipts';
import type { LaneHead } from './verify';

export const ANCHOR_TYPE = 'countersign.audit-anchor';

export type AnchorDocument = { typ: typeof ANCHOR_TYPE; v: 1; anchored_at: string; instance: string; heads: LaneHead[] };

/** Where anchors go: appended as JSON lines to a file, and/or POSTed to an HTTPS endpoint. */
export type AnchorTarget = { file?: string; url?: string };

/** The last record of every chain lane, as the database has it now. */
export async function laneHeads(db: DbOrTx): Promise<LaneHead[]> {
  const rows = await execRows<{ lane: number; seq: string | number; hash: string }>(
    db,
    sql`select distinct on (chain_lane) chain_lane as lane, seq, hash from audit_events order by chain_lane, seq desc`,
  );
  return rows.map((r) => ({ lane: Number(r.lane), seq: Number(r.seq), hash: r.hash }));
}

/**
 * Signs the chain's current heads with the receipt key and writes them outside the database. Whoever later
 * removes the tail of a lane (or rewrites it) cannot make the anchored record reappear, and cannot forge a
 * newer anchor without the key: `audit verify --anchors` then names the gap.
 */
export async function writeAnchor(db: Db, target: AnchorTarget, opts: { instance: string } & KeyProtection): Promise<SignedDocument | null> {
  const heads = await laneHeads(db);
  if (heads.length === 0) return null;
  const doc: AnchorDocument = { typ: ANCHOR_TYPE, v: 1, anchored_at: new Date().toISOString(), instance: opts.instance, heads };
  const signed = await signDocument(db, doc as unknown as Record<string, unknown>, { passphrase: opts.passphrase });
  if (target.file) appendFileSync(target.file, `${JSON.stringify(signed)}\n`);
  if (target.url) {
    const res = await fetch(target.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(signed), signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`anchor endpoint ${target.url} answered ${res.status}`);
  }
  return signed;
}

export type AnchorFileCheck = { ok: true; anchors: number; heads: LaneHead[] } | { ok: false; line: number; detail: string };

/**
 * Reads an anchors file (one signed anchor per line) and checks every signature against the published keys.
 * Returns every anchored head: each must still be in the chain, unchanged.
 */
export function readAnchorFile(path: string, keys: KeySet): AnchorFileCheck {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim());
  const heads: LaneHead[] = [];
  for (const [i, line] of lines.entries()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return { ok: false, line: i + 1, detail: 'not JSON' };
    }
    const check = verifyDocument(parsed, keys);
    if (!check.ok) return { ok: false, line: i + 1, detail: `${check.reason}: ${check.detail}` };
    const doc = check.signed.document as Partial<AnchorDocument>;
    if (doc.typ !== ANCHOR_TYPE || !Array.isArray(doc.heads)) return { ok: false, line: i + 1, detail: `not an audit anchor (${String(doc.typ)})` };
    heads.push(...doc.heads);
  }
  return { ok: true, anchors: lines.length, heads };
}

/** The periodic task: anchors the heads when they moved since this process last anchored them. */
export function anchorTask(db: Db, target: AnchorTarget, opts: { instance: string } & KeyProtection): () => Promise<void> {
  let last = '';
  return async () => {
    const key = JSON.stringify(await laneHeads(db));
    if (key === last || key === '[]') return;
    await writeAnchor(db, target, opts);
    last = key;
  };
}
