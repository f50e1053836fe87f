import { and, eq, isNull } from 'drizzle-orm';
import { timingSafeEqual } from 'node:crypto';
import type { DbOrTx } from '../db/client';
import { adminCredentials } from '../db/schema';
import { appendEvent } from '../audit/append';
import { newId } from '../lib/ids';
import { ADMIN_TOKEN_PREFIX, generateToken, hashToken } from './tokens';

export type AdminPrincipal = { id: string; name: string };

/** Creates an operator credential for the admin API. The token is returned once. */
export async function createAdminCredential(db: DbOrTx, name: string, actor: string): Promise<{ admin: AdminPrincipal; token: string }> {
  const token = generateToken(ADMIN_TOKEN_PREFIX);
  const id = newId('admin');
  await db.transaction(async (tx) => {
    await tx.insert(adminCredentials).values({ id, name, tokenHash: hashToken(token) });
    await appendEvent(tx, { type: 'admin.created', actor, data: { admin_id: id, name } });
  });
  return { admin: { id, name }, token };
}

/**
 * Resolves an admin bearer token: a stored credential, or the bootstrap token from
 * COUNTERSIGN_ADMIN_TOKEN (compared in constant time) for first start-up.
 */
export async function authenticateAdmin(db: DbOrTx, token: string, bootstrapToken?: string): Promise<AdminPrincipal | null> {
  if (bootstrapToken) {
    const a = Buffer.from(hashToken(token));
    const b = Buffer.from(hashToken(bootstrapToken));
    if (timingSafeEqual(a, b)) return { id: 'bootstrap', name: 'bootstrap' };
  }
  if (!token.startsWith(ADMIN_TOKEN_PREFIX)) return null;
  const [row] = await db
    .select({ id: adminCredentials.id, name: adminCredentials.name })
    .from(adminCredentials)
    .where(and(eq(adminCredentials.tokenHash, hashToken(token)), isNull(adminCredentials.revokedAt)))
    .limit(1);
  return row ?? null;
}
