import type { DbOrTx } from '../db/client';
import { authenticateAgent, type Principal } from './agents';
import { hashToken } from './tokens';

/**
 * Agent credentials remembered for a few seconds per instance, for POST /v1/actions only.
 *
 * Why this is safe: a cached principal is trusted only on the allow path, whose one write (intake_commit,
 * drizzle/0008) re-checks in the same statement that the token is live, the agent active and its scopes
 * and rate limit unchanged, with the agent row key-share-locked until commit, so a revocation, kill, scope or
 * rate-limit change that has committed is seen by every instance at once, as before. Every other path
 * (denials, escalations, dry runs, budgets, reads) looks the credentials up again before acting
 * (src/intake/service.ts). Unknown tokens are never cached.
 */
export type CredentialCache = {
  authenticate(token: string): Promise<Principal | null>;
  /** Drops a token whose credentials turned out to have changed. */
  forget(tokenId: string): void;
};

export const CREDENTIAL_CACHE_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;

export function createCredentialCache(db: DbOrTx, opts: { ttlMs?: number } = {}): CredentialCache {
  const ttlMs = opts.ttlMs ?? CREDENTIAL_CACHE_TTL_MS;
  const byHash = new Map<string, { principal: Principal; until: number }>();
  return {
    async authenticate(token) {
      const key = hashToken(token);
      const hit = byHash.get(key);
      if (hit && hit.until > Date.now()) return { ...hit.principal, verifiedBy: 'cache' };
      const principal = await authenticateAgent(db, token);
      if (!principal) {
        byHash.delete(key);
        return null;
      }
      if (byHash.size >= MAX_ENTRIES) byHash.delete(byHash.keys().next().value!);
      byHash.set(key, { principal, until: Date.now() + ttlMs });
      return principal;
    },
    forget(tokenId) {
      for (const [key, entry] of byHash) if (entry.principal.tokenId === tokenId) byHash.delete(key);
    },
  };
}
