import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client';
import { agentTokens, agents, type AgentRow } from '../db/schema';
import { appendEvents } from '../audit/append';
import { newId } from '../lib/ids';
import { parseDuration } from '../policy/duration';
import { AgentInputError } from './agents';
import { AGENT_TOKEN_PREFIX, displayPrefix, generateToken, hashToken } from './tokens';

export class AgentNotFoundError extends AgentInputError {}

/** `0` ends the old tokens at once; otherwise `15m`, `1h`, `2d` … up to 30 days. */
export function parseGrace(text: string): number | null {
  if (/^0+[smhd]?$/.test(text)) return 0;
  return parseDuration(text);
}

async function lockAgent(tx: DbOrTx, name: string): Promise<AgentRow> {
  const [row] = await tx.select().from(agents).where(eq(agents.name, name)).for('update').limit(1);
  if (!row) throw new AgentNotFoundError(`no agent named ${name}`);
  return row;
}

export type RotatedToken = {
  agent: Pick<AgentRow, 'id' | 'name' | 'status'>;
  token: string;
  tokenId: string;
  /** The tokens that keep working until `expires_at`, then are refused everywhere. */
  previous: Array<{ id: string; display_prefix: string; expires_at: string }>;
};

/**
 * Issues a new token; every older live token keeps working until now + grace (never longer than it
 * already would). Rotation is also how a resumed agent gets a token again after a kill.
 */
export async function rotateAgentToken(db: DbOrTx, name: string, graceSeconds: number, actor: string): Promise<RotatedToken> {
  const token = generateToken(AGENT_TOKEN_PREFIX);
  const tokenId = newId('token');
  return db.transaction(async (tx) => {
    const agent = await lockAgent(tx, name);
    const until = new Date(Date.now() + graceSeconds * 1000);
    const previous = await tx
      .update(agentTokens)
      .set({ expiresAt: sql`case when ${agentTokens.expiresAt} is null or ${agentTokens.expiresAt} > ${until.toISOString()}::timestamptz then ${until.toISOString()}::timestamptz else ${agentTokens.expiresAt} end` })
      .where(and(eq(agentTokens.agentId, agent.id), isNull(agentTokens.revokedAt), sql`(${agentTokens.expiresAt} is null or ${agentTokens.expiresAt} > now())`))
      .returning({ id: agentTokens.id, displayPrefix: agentTokens.displayPrefix, expiresAt: agentTokens.expiresAt });
    await tx.insert(agentTokens).values({ id: tokenId, agentId: agent.id, tokenHash: hashToken(token), displayPrefix: displayPrefix(token), createdBy: actor });
    const prev = previous.map((p) => ({ id: p.id, display_prefix: p.displayPrefix, expires_at: p.expiresAt!.toISOString() }));
    await appendEvents(tx, [
      {
        type: 'agent.token_rotated',
        actor,
        agentId: agent.id,
        // Key names avoid the redactor's credential patterns (`token…`): ids and prefixes are not secrets.
        data: { name: agent.name, issued: { id: tokenId, display_prefix: displayPrefix(token) }, grace_seconds: graceSeconds, previous: prev },
      },
    ]);
    return { agent: { id: agent.id, name: agent.name, status: agent.status }, token, tokenId, previous: prev };
  });
}

/**
 * Revokes the agent's tokens (or one of them) at once. Tokens are checked against Postgres on every
 * request, so every instance refuses them from the next request on.
 */
export async function revokeAgentTokens(
  db: DbOrTx,
  name: string,
  actor: string,
  opts: { tokenId?: string; reason?: string } = {},
): Promise<{ agent: Pick<AgentRow, 'id' | 'name'>; revoked: string[] }> {
  return db.transaction(async (tx) => {
    const agent = await lockAgent(tx, name);
    const rows = await tx
      .update(agentTokens)
      .set({ revokedAt: sql`now()`, revokedBy: actor })
      .where(and(eq(agentTokens.agentId, agent.id), isNull(agentTokens.revokedAt), opts.tokenId ? eq(agentTokens.id, opts.tokenId) : undefined))
      .returning({ id: agentTokens.id });
    if (opts.tokenId && rows.length === 0) throw new AgentNotFoundError(`agent ${name} has no live token ${opts.tokenId}`);
    const revoked = rows.map((r) => r.id);
    await appendEvents(tx, [
      { type: 'agent.tokens_revoked', actor, agentId: agent.id, data: { name: agent.name, revoked_ids: revoked, reason: opts.reason ?? null } },
    ]);
    return { agent: { id: agent.id, name: agent.name }, revoked };
  });
}

/** The agent's tokens as operators may see them (never the hash). */
export async function listAgentTokens(db: DbOrTx, agentId: string) {
  const rows = await db.select().from(agentTokens).where(eq(agentTokens.agentId, agentId)).orderBy(asc(agentTokens.createdAt));
  const now = Date.now();
  return rows.map((t) => ({
    id: t.id,
    display_prefix: t.displayPrefix,
    created_at: t.createdAt.toISOString(),
    created_by: t.createdBy,
    expires_at: t.expiresAt?.toISOString() ?? null,
    revoked_at: t.revokedAt?.toISOString() ?? null,
    revoked_by: t.revokedBy,
    live: !t.revokedAt && (!t.expiresAt || t.expiresAt.getTime() > now),
  }));
}
