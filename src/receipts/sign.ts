import { sign, type KeyObject } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client';
import { approvals, type ActionRow } from '../db/schema';
import { canonicalHash, canonicalJson } from '../lib/canonical-json';
import { ensureSigningKey, privateKeyOf, type KeyProtection } from './keys';
import { RECEIPT_BATCH_TYPE, RECEIPT_TYPE, RECEIPT_VERSION, type ReceiptBatchRoot, type ReceiptPayload, type SignedReceipt } from './receipt';
import { leafHash, merkleTree } from './merkle';

const KEY_REFRESH_MS = 30_000;

export type ReceiptFields = Omit<ReceiptPayload, 'kid' | 'typ' | 'v'>;

export type ReceiptSigner = {
  /** Signs a receipt for the action as it stands (row + its approvals, unless the caller knows them). */
  receiptFor(db: DbOrTx, row: ActionRow, knownApprovers?: string[]): Promise<SignedReceipt>;
  sign(payload: ReceiptFields): Promise<SignedReceipt>;
  /**
   * Signs several receipts with one signature: over the root of their Merkle tree, each receipt carrying its
   * path (src/receipts/merkle.ts). One receipt alone is signed as `sign` signs it.
   */
  signBatch(payloads: ReceiptFields[]): Promise<SignedReceipt[]>;
};

/**
 * Signs receipts with the current key. The key is re-read now and then, so a rotation by
 * `countersign keys rotate` is picked up by running instances within half a minute.
 */
export function createReceiptSigner(db: Db, protection: KeyProtection = {}): ReceiptSigner {
  let cached: { kid: string; key: KeyObject; at: number } | null = null;
  let loading: Promise<{ kid: string; key: KeyObject }> | null = null;

  async function currentKey(): Promise<{ kid: string; key: KeyObject }> {
    if (cached && Date.now() - cached.at < KEY_REFRESH_MS) return cached;
    loading ??= ensureSigningKey(db, protection)
      .then((row) => {
        cached = { kid: row.kid, key: privateKeyOf(row, protection), at: Date.now() };
        return cached;
      })
      .finally(() => {
        loading = null;
      });
    return loading;
  }

  async function signPayload(fields: ReceiptFields): Promise<SignedReceipt> {
    const { kid, key } = await currentKey();
    const payload: ReceiptPayload = { typ: RECEIPT_TYPE, v: RECEIPT_VERSION, ...fields, kid };
    const signature = sign(null, Buffer.from(canonicalJson(payload)), key).toString('base64url');
    return { payload, alg: 'EdDSA', kid, signature };
  }

  async function signBatch(list: ReceiptFields[]): Promise<SignedReceipt[]> {
    if (list.length <= 1) return Promise.all(list.map(signPayload));
    const { kid, key } = await currentKey();
    const payloads: ReceiptPayload[] = list.map((fields) => ({ typ: RECEIPT_TYPE, v: RECEIPT_VERSION, ...fields, kid }));
    const { root, paths } = merkleTree(payloads.map((p) => leafHash(canonicalJson(p))));
    const signed: ReceiptBatchRoot = { typ: RECEIPT_BATCH_TYPE, v: 1, kid, root: root.toString('hex') };
    const signature = sign(null, Buffer.from(canonicalJson(signed)), key).toString('base64url');
    return payloads.map((payload, i) => ({ payload, alg: 'EdDSA', kid, signature, batch: { root: signed.root, path: paths[i]! } }));
  }

  return {
    sign: signPayload,
    signBatch,
    async receiptFor(tx, row, knownApprovers) {
      return signPayload(await receiptFields(tx, row, knownApprovers));
    },
  };
}

/** The facts a receipt states about an action, read from its row and its approvals. */
export async function receiptFields(db: DbOrTx, row: ActionRow, knownApprovers?: string[]): Promise<ReceiptFields> {
  let approvers: string[] = knownApprovers ?? [];
  if (knownApprovers) {
    /* given by the caller (intake: nobody has answered yet) */
  } else if (row.decision === 'allow' && row.approvedAt) approvers = ['policy'];
  else if (row.approverGroup) {
    const rows = await db
      .select({ approver: approvals.approver, createdAt: approvals.createdAt })
      .from(approvals)
      .where(and(eq(approvals.actionId, row.id), eq(approvals.verdict, 'approve'), eq(approvals.payloadHash, row.payloadHash)))
      .orderBy(approvals.createdAt);
    approvers = rows.map((r) => r.approver);
  }
  return {
    action_id: row.id,
    correlation_id: row.correlationId,
    agent_id: row.agentId,
    action_class: row.actionClass,
    payload_hash: row.payloadHash,
    ...(row.planHash ? { plan_hash: row.planHash } : {}),
    decision: row.decision,
    rule_id: row.ruleId,
    policy_version: row.policyVersion,
    status: row.status,
    approvers,
    result_hash: row.status === 'committed' ? canonicalHash(row.result ?? null) : null,
    issued_at: new Date().toISOString(),
  };
}
