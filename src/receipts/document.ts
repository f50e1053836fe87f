import { createPublicKey, sign, verify } from 'node:crypto';
import { z } from 'zod';
import type { Db } from '../db/client';
import { canonicalJson } from '../lib/canonical-json';
import { ensureSigningKey, privateKeyOf, type KeyProtection, type KeySet } from './keys';

/**
 * Any JSON document signed with the receipt key (drill reports): the same Ed25519 key and canonical JSON as
 * receipts, so the published key set (/.well-known/countersign-keys) verifies it offline.
 */
export const signedDocument = z.strictObject({
  document: z.record(z.string(), z.unknown()),
  alg: z.literal('EdDSA'),
  kid: z.string(),
  /** base64url Ed25519 signature over canonicalJson({ kid, document }). */
  signature: z.string(),
});
export type SignedDocument = z.infer<typeof signedDocument>;

const signedBytes = (kid: string, document: Record<string, unknown>) => Buffer.from(canonicalJson({ kid, document }));

export async function signDocument(db: Db, document: Record<string, unknown>, protection: KeyProtection = {}): Promise<SignedDocument> {
  const row = await ensureSigningKey(db, protection);
  const signature = sign(null, signedBytes(row.kid, document), privateKeyOf(row, protection)).toString('base64url');
  return { document, alg: 'EdDSA', kid: row.kid, signature };
}

export type DocumentCheck = { ok: true; signed: SignedDocument } | { ok: false; reason: 'malformed' | 'unknown-key' | 'bad-signature'; detail: string };

export function verifyDocument(input: unknown, keys: KeySet): DocumentCheck {
  const parsed = signedDocument.safeParse(input);
  if (!parsed.success) return { ok: false, reason: 'malformed', detail: parsed.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`).join('; ') };
  const doc = parsed.data;
  const jwk = keys.keys.find((k) => k.kid === doc.kid);
  if (!jwk) return { ok: false, reason: 'unknown-key', detail: `no published key ${doc.kid}` };
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
  if (!verify(null, signedBytes(doc.kid, doc.document), publicKey, Buffer.from(doc.signature, 'base64url'))) {
    return { ok: false, reason: 'bad-signature', detail: 'the signature does not match the document: it was altered or signed by another key' };
  }
  return { ok: true, signed: doc };
}
