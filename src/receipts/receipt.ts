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

export const signedReceipt = z.strictObject({
  payload: receiptPayload,
  alg: z.literal('EdDSA'),
  kid: z.string(),
  /** base64url Ed25519 signature over canonicalJson(payload). */
  signature: z.string(),
});

export type SignedReceipt = z.infer<typeof signedReceipt>;
