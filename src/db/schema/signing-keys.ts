import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Ed25519 keys that sign receipts (src/receipts). The newest key without `retired_at` signs; every key
 * not past `expires_at` is published at /.well-known/countersign-keys so old receipts keep verifying.
 */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  /** SPKI PEM. */
  publicKey: text('public_key').notNull(),
  /** PKCS#8 PEM. Stored in the database (see docs/audit.md, "Receipt keys"). */
  privateKey: text('private_key').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /** Set when a newer key takes over signing; the key stays published. */
  retiredAt: timestamp('retired_at', { withTimezone: true }),
  /** After this the public key is no longer published (null: published for ever). */
  expiresAt: timestamp('expires_at', { withTimezone: true }),
});

export type SigningKeyRow = typeof signingKeys.$inferSelect;
