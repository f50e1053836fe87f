import { createPublicKey, verify } from 'node:crypto';
import { canonicalJson } from '../lib/canonical-json';
import type { KeySet } from './keys';
import { RECEIPT_BATCH_TYPE, signedReceipt, type ReceiptBatchRoot, type SignedReceipt } from './receipt';
import { leafHash, rootFromPath } from './merkle';

export type ReceiptCheck =
  | { ok: true; receipt: SignedReceipt }
  | { ok: false; reason: 'malformed' | 'unknown-key' | 'bad-signature' | 'kid-mismatch' | 'payload-mismatch'; detail: string };

/**
 * Checks a receipt offline against a published key set, whether signed alone or with its batch (a Merkle
 * path to a signed root, src/receipts/merkle.ts). Accepts the receipt itself or any JSON object that
 * carries one under `receipt` (an intake response, GET /v1/actions/:id). Optionally checks that it is for
 * the payload the caller holds (`expectPayloadHash`).
 */
export function verifyReceipt(input: unknown, keys: KeySet, opts: { expectPayloadHash?: string } = {}): ReceiptCheck {
  const candidate = input && typeof input === 'object' && 'receipt' in input ? (input as { receipt: unknown }).receipt : input;
  const parsed = signedReceipt.safeParse(candidate);
  if (!parsed.success) return { ok: false, reason: 'malformed', detail: parsed.error.issues.map((i) => `${i.path.join('.') || '(receipt)'}: ${i.message}`).join('; ') };
  const receipt = parsed.data;
  if (receipt.kid !== receipt.payload.kid) return { ok: false, reason: 'kid-mismatch', detail: 'the outer kid differs from the signed kid' };
  const jwk = keys.keys.find((k) => k.kid === receipt.kid);
  if (!jwk) return { ok: false, reason: 'unknown-key', detail: `no published key ${receipt.kid}` };
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
  const payloadText = canonicalJson(receipt.payload);
  let signedText = payloadText;
  if (receipt.batch) {
    // Signed with its batch: the payload must lead, by its path, to the root that was signed.
    if (!rootFromPath(leafHash(payloadText), receipt.batch.path).equals(Buffer.from(receipt.batch.root, 'hex'))) {
      return { ok: false, reason: 'bad-signature', detail: "the receipt's path does not lead to its batch's root: the receipt or its path was altered" };
    }
    const signed: ReceiptBatchRoot = { typ: RECEIPT_BATCH_TYPE, v: 1, kid: receipt.kid, root: receipt.batch.root };
    signedText = canonicalJson(signed);
  }
  const valid = verify(null, Buffer.from(signedText), publicKey, Buffer.from(receipt.signature, 'base64url'));
  if (!valid) return { ok: false, reason: 'bad-signature', detail: 'the signature does not match the receipt: it was altered or signed by another key' };
  if (opts.expectPayloadHash && opts.expectPayloadHash !== receipt.payload.payload_hash) {
    return { ok: false, reason: 'payload-mismatch', detail: `the receipt is for payload ${receipt.payload.payload_hash}, not ${opts.expectPayloadHash}` };
  }
  return { ok: true, receipt };
}
