import { z } from 'zod';

export const RECEIPT_TYPE = 'countersign.receipt';
export const RECEIPT_VERSION = 1;

/** What a receipt attests. Signed as RFC 8785 canonical JSON; field names are part of the format. */
export const receiptPayload = z.strictObject({
  typ: z.literal(RECEIPT_TYPE),
  v: z.literal(RECEIPT_VERSION),
  action_id: z.string(),
  correlation_id: z.string(),
  agent_id: z.string(),
  action_class: z.string(),
  /** SHA-256 of canonical {action_class, params, context, executor}: what was decided and approved. */
  payload_hash: z.string(),
  /** SHA-256 of the canonical JSON of the executor's prepared plan, when it prepared the action (covered by payload_hash). */
  plan_hash: z.string().optional(),
  /** Policy's decision: allow | deny | escalate. */
  decision: z.string(),
  rule_id: z.string().nullable(),
  policy_version: z.string(),
  /** Where the action is now (pending_approval, approved, denied, committed, failed, …). */
  status: z.string(),
  /** Who approved: `policy` for an allow, else the humans (`slack:<user>`) whose approvals met the quorum. */
  approvers: z.array(z.string()),
  /** SHA-256 of canonical JSON of the executor's answer, once committed. */
  result_hash: z.string().nullable(),
  issued_at: z.string(),
  kid: z.string(),
});

export type ReceiptPayload = z.infer<typeof receiptPayload>;

/** What the key signs for a batch of receipts: the root of their Merkle tree (src/receipts/merkle.ts). */
export const RECEIPT_BATCH_TYPE = 'countersign.receipt-batch';
export type ReceiptBatchRoot = { typ: typeof RECEIPT_BATCH_TYPE; v: 1; kid: string; root: string };

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 in lowercase hex');

/**
 * A receipt signed with others (the intake's group commits): the root of the batch's Merkle tree and this
 * receipt's path to it. The signature is then over canonicalJson({ typ: 'countersign.receipt-batch', v: 1,
 * kid, root }), and the payload is tied to it by its leaf hash and the path (docs/audit.md).
 */
export const receiptBatch = z.strictObject({
  root: sha256Hex,
  path: z.array(z.strictObject({ side: z.enum(['left', 'right']), hash: sha256Hex })).max(64),
});

export const signedReceipt = z.strictObject({
  payload: receiptPayload,
  alg: z.literal('EdDSA'),
  kid: z.string(),
  /** base64url Ed25519 signature over canonicalJson(payload), or, with `batch`, over the batch's signed root. */
  signature: z.string(),
  batch: receiptBatch.optional(),
});

export type SignedReceipt = z.infer<typeof signedReceipt>;
