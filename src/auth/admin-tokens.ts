import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { adminCredentials } from '../db/schema';
import { appendEvents } from '../audit/append';

/** Operator credentials as they may be listed (never the hash). */
export async function listAdminCredentials(db: DbOrTx) {
  const rows = await db.select().from(adminCredentials).orderBy(asc(adminCredentials.name));
  return rows.map((r) => ({ id: r.id, name: r.name, created_at: r.createdAt.toISOString(), revoked_at: r.revokedAt?.toISOString() ?? null }));
}

/** Revokes an operator credential at once (checked against Postgres on every admin request). */
export async function revokeAdminCredential(db: DbOrTx, name: string, actor: string): Promise<{ id: string; name: string } | null> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(adminCredentials)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(adminCredentials.name, name), isNull(adminCredentials.revokedAt)))
      .returning({ id: adminCredentials.id, name: adminCredentials.name });
    if (!row) return null;
    await appendEvents(tx, [{ type: 'admin.revoked', actor, data: { admin_id: row.id, name: row.name } }]);
    return row;
  });
}
