import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { desc, isNull, gt, or, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client';
import { signingKeys, type SigningKeyRow } from '../db/schema';
import { appendEvents } from '../audit/append';
import { sha256Hex } from '../lib/canonical-json';

// Serialises key creation and rotation across instances.
const KEY_LOCK = 727276;

/**
 * How private keys are kept in `signing_keys`. With a passphrase (COUNTERSIGN_RECEIPT_KEY_PASSPHRASE) new keys
 * are stored as encrypted PKCS#8 (PBES2: PBKDF2 + AES-256-CBC, done by OpenSSL through node:crypto), so a copy
 * of the database (a backup, a read replica, an analytics export) cannot sign receipts. Without one they are
 * stored in the clear and the server says so at start-up.
 */
export type KeyProtection = { passphrase?: string };

export class SigningKeyLockedError extends Error {}

export type PublicJwk = { kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig'; created_at: string; retired_at: string | null; expires_at: string | null };
export type KeySet = { keys: PublicJwk[] };

/** A key id derived from the public key (RFC 7638-style thumbprint, shortened), so it says which key it is. */
function kidFor(publicKey: KeyObject): string {
  const jwk = publicKey.export({ format: 'jwk' }) as { crv: string; kty: string; x: string };
  return `ed25519-${sha256Hex(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x })).slice(0, 16)}`;
}

function newKeyRow(protection: KeyProtection): typeof signingKeys.$inferInsert {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pem = protection.passphrase
    ? privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: protection.passphrase })
    : privateKey.export({ format: 'pem', type: 'pkcs8' });
  return { kid: kidFor(publicKey), publicKey: publicKey.export({ format: 'pem', type: 'spki' }).toString(), privateKey: pem.toString() };
}

async function activeKey(db: DbOrTx): Promise<SigningKeyRow | undefined> {
  const [row] = await db.select().from(signingKeys).where(isNull(signingKeys.retiredAt)).orderBy(desc(signingKeys.createdAt)).limit(1);
  return row;
}

/** The key that signs now; created on first start. */
export async function ensureSigningKey(db: Db, protection: KeyProtection = {}): Promise<SigningKeyRow> {
  const existing = await activeKey(db);
  if (existing) return existing;
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${KEY_LOCK})`);
    const again = await activeKey(tx);
    if (again) return again;
    const [row] = await tx.insert(signingKeys).values(newKeyRow(protection)).returning();
    await appendEvents(tx, [{ type: 'signing_key.created', actor: 'system', data: { kid: row!.kid, reason: 'first start', encrypted: isEncrypted(row!) } }]);
    return row!;
  });
}

/** The signing key, created if there is none yet, and opened once to prove it can be (SigningKeyLockedError if not). */
export async function openSigningKey(db: Db, protection: KeyProtection): Promise<SigningKeyRow> {
  const row = await ensureSigningKey(db, protection);
  privateKeyOf(row, protection);
  return row;
}

/**
 * Makes a new signing key and retires the current one. Retired keys stay published (receipts they signed
 * keep verifying) until `expireRetiredAfterMs`, if given, has passed.
 */
export async function rotateSigningKey(
  db: Db,
  actor: string,
  opts: { expireRetiredAfterMs?: number } & KeyProtection = {},
): Promise<{ kid: string; retired: string[]; encrypted: boolean }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${KEY_LOCK})`);
    const expiresAt = opts.expireRetiredAfterMs !== undefined ? new Date(Date.now() + opts.expireRetiredAfterMs) : null;
    const retired = await tx
      .update(signingKeys)
      .set({ retiredAt: sql`now()`, ...(expiresAt ? { expiresAt } : {}) })
      .where(isNull(signingKeys.retiredAt))
      .returning({ kid: signingKeys.kid });
    const [row] = await tx.insert(signingKeys).values(newKeyRow(opts)).returning();
    const encrypted = isEncrypted(row!);
    await appendEvents(tx, [
      {
        type: 'signing_key.rotated',
        actor,
        data: { kid: row!.kid, retired: retired.map((r) => r.kid), retired_expire_at: expiresAt?.toISOString() ?? null, encrypted },
      },
    ]);
    return { kid: row!.kid, retired: retired.map((r) => r.kid), encrypted };
  });
}

export async function listSigningKeys(db: DbOrTx): Promise<SigningKeyRow[]> {
  return db.select().from(signingKeys).orderBy(desc(signingKeys.createdAt));
}

export function toPublicJwk(row: SigningKeyRow): PublicJwk {
  const jwk = createPublicKey(row.publicKey).export({ format: 'jwk' }) as { x: string };
  return {
    kty: 'OKP',
    crv: 'Ed25519',
    x: jwk.x,
    kid: row.kid,
    alg: 'EdDSA',
    use: 'sig',
    created_at: row.createdAt.toISOString(),
    retired_at: row.retiredAt?.toISOString() ?? null,
    expires_at: row.expiresAt?.toISOString() ?? null,
  };
}

/** Every public key not past its expiry: what /.well-known/countersign-keys serves. */
export async function publishedKeys(db: DbOrTx): Promise<KeySet> {
  const rows = await db
    .select()
    .from(signingKeys)
    .where(or(isNull(signingKeys.expiresAt), gt(signingKeys.expiresAt, sql`now()`)))
    .orderBy(desc(signingKeys.createdAt));
  return { keys: rows.map(toPublicJwk) };
}

export function isEncrypted(row: Pick<SigningKeyRow, 'privateKey'>): boolean {
  return row.privateKey.startsWith('-----BEGIN ENCRYPTED PRIVATE KEY-----');
}

/** The signing key, decrypted with the passphrase when it is stored encrypted. */
export function privateKeyOf(row: SigningKeyRow, protection: KeyProtection = {}): KeyObject {
  if (!isEncrypted(row)) return createPrivateKey(row.privateKey);
  if (!protection.passphrase) {
    throw new SigningKeyLockedError(`signing key ${row.kid} is stored encrypted: set COUNTERSIGN_RECEIPT_KEY_PASSPHRASE`);
  }
  try {
    return createPrivateKey({ key: row.privateKey, format: 'pem', passphrase: protection.passphrase });
  } catch {
    throw new SigningKeyLockedError(`signing key ${row.kid} does not open with COUNTERSIGN_RECEIPT_KEY_PASSPHRASE (wrong passphrase?)`);
  }
}

