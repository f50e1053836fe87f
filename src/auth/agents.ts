import { and, asc, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { agentTokens, agents, type AgentRow } from '../db/schema';
import { appendEvent } from '../audit/append';
import { preparedOn } from '../db/prepared';
import { newId } from '../lib/ids';
import { isValidActionClassGlob, matchesActionClassGlob } from '../lib/action-class-glob';
import { AGENT_TOKEN_PREFIX, displayPrefix, generateToken, hashToken } from './tokens';

export type Agent = Pick<AgentRow, 'id' | 'name' | 'owner' | 'tags' | 'scopes' | 'status' | 'rateLimitPerMinute'>;

/**
 * Who an agent request acts as. `verifiedBy: 'cache'` marks credentials served from the per-instance cache
 * (src/auth/credential-cache.ts): only the allow path, whose single write re-checks them, trusts those.
 */
export type Principal = { agent: Agent; tokenId: string; verifiedBy?: 'cache' };

export class AgentInputError extends Error {}

/** Creates an agent identity and its first token. The token is returned once and stored only as a hash. */
export async function createAgent(
  db: DbOrTx,
  input: { name: string; owner?: string; tags?: string[]; scopes: string[]; rateLimitPerMinute?: number | null },
  actor: string,
): Promise<{ agent: Agent; token: string }> {
  if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(input.name)) {
    throw new AgentInputError('agent name must be 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit');
  }
  if (input.scopes.length === 0) throw new AgentInputError('an agent needs at least one scope');
  const bad = input.scopes.filter((s) => !isValidActionClassGlob(s));
  if (bad.length) throw new AgentInputError(`invalid scope glob(s): ${bad.join(', ')}`);
  const token = generateToken(AGENT_TOKEN_PREFIX);
  const agent = await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(agents)
      .values({
        id: newId('agent'),
        name: input.name,
        owner: input.owner ?? '',
        tags: input.tags ?? [],
        scopes: input.scopes,
        rateLimitPerMinute: input.rateLimitPerMinute ?? null,
      })
      .onConflictDoNothing({ target: agents.name })
      .returning();
    if (!row) throw new AgentInputError(`an agent named ${input.name} already exists`);
    const tokenId = newId('token');
    await tx.insert(agentTokens).values({
      id: tokenId,
      agentId: row.id,
      tokenHash: hashToken(token),
      displayPrefix: displayPrefix(token),
      createdBy: actor,
    });
    await appendEvent(tx, {
      type: 'agent.created',
      actor,
      agentId: row.id,
      // `issued`, not `token_…`: the redactor would blank a token id, which is evidence, not a secret.
      data: { name: row.name, owner: row.owner, tags: row.tags, scopes: row.scopes, rate_limit_per_minute: row.rateLimitPerMinute, issued: { id: tokenId, display_prefix: displayPrefix(token) } },
    });
    return row;
  });
  return { agent: toAgent(agent), token };
}

function toAgent(row: AgentRow): Agent {
  return {
    id: row.id,
    name: row.name,
    owner: row.owner,
    tags: row.tags,
    scopes: row.scopes,
    status: row.status,
    rateLimitPerMinute: row.rateLimitPerMinute,
  };
}

/**
 * Resolves a bearer token to its agent. Read from Postgres on every request so a revocation or kill
 * takes effect on every instance at once.
 */
export async function authenticateAgent(db: DbOrTx, token: string): Promise<Principal | null> {
  if (!token.startsWith(AGENT_TOKEN_PREFIX)) return null;
  // Runs on every agent request: a prepared statement (src/db/prepared.ts), so the query is built once.
  // `now` is sent as ISO text (as drizzle's timestamp column would encode the Date) for both drivers.
  const rows = await preparedOn(db, 'authenticate_agent', tokenLookup('token_hash')).execute({ key: hashToken(token), now: new Date().toISOString() });
  const row = rows[0];
  if (!row) return null;
  return { agent: toAgent(row.agent), tokenId: row.tokenId };
}

/** The same check by token id: a request whose credentials changed while it ran looks them up again. */
export async function authenticateAgentByTokenId(db: DbOrTx, tokenId: string): Promise<Principal | null> {
  const rows = await preparedOn(db, 'authenticate_agent_by_token_id', tokenLookup('id')).execute({ key: tokenId, now: new Date().toISOString() });
  const row = rows[0];
  return row ? { agent: toAgent(row.agent), tokenId: row.tokenId } : null;
}

function tokenLookup(by: 'token_hash' | 'id') {
  return (db: DbOrTx, name: string) =>
    db
      .select({ agent: agents, tokenId: agentTokens.id })
      .from(agentTokens)
      .innerJoin(agents, eq(agents.id, agentTokens.agentId))
      .where(
        and(
          eq(by === 'id' ? agentTokens.id : agentTokens.tokenHash, sql.placeholder('key')),
          isNull(agentTokens.revokedAt),
          or(isNull(agentTokens.expiresAt), gt(agentTokens.expiresAt, sql.placeholder('now'))),
        ),
      )
      .limit(1)
      .prepare(name);
}

export function isInScope(agent: Pick<Agent, 'scopes'>, actionClass: string): boolean {
  return agent.scopes.some((glob) => matchesActionClassGlob(glob, actionClass));
}

export async function listAgents(db: DbOrTx): Promise<AgentRow[]> {
  return db.select().from(agents).orderBy(asc(agents.name));
}

export async function findAgentByName(db: DbOrTx, name: string): Promise<AgentRow | undefined> {
  const [row] = await db.select().from(agents).where(eq(agents.name, name)).limit(1);
  return row;
}
