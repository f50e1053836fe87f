import { randomBytes } from 'node:crypto';
import { count } from 'drizzle-orm';
import type { Db } from '../db/client';
import { agents } from '../db/schema';
import { createAgent } from '../auth/agents';

export const DEMO_AGENT_SCOPES = ['external_automation.*'];
const ACTOR = 'admin:sandbox';

/** On a sandbox's first start (no agents at all): creates `demo-agent` and returns its token, shown once. */
export async function ensureDemoAgent(db: Db): Promise<{ name: string; token: string } | null> {
  const [row] = await db.select({ n: count() }).from(agents);
  if ((row?.n ?? 0) > 0) return null;
  const { agent, token } = await createAgent(db, { name: 'demo-agent', owner: 'sandbox', scopes: DEMO_AGENT_SCOPES }, ACTOR);
  return { name: agent.name, token };
}

/** A fresh agent for `npm run demo` (the first demo agent's token was shown once and is not stored). */
export async function createDemoRunAgent(db: Db): Promise<{ name: string; token: string }> {
  const { agent, token } = await createAgent(
    db,
    { name: `demo-${randomBytes(3).toString('hex')}`, owner: 'sandbox', scopes: DEMO_AGENT_SCOPES },
    ACTOR,
  );
  return { name: agent.name, token };
}
