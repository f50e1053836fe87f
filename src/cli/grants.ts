import { eq } from 'drizzle-orm';
import { agents } from '../db/schema';
import { revokeGrant } from '../grants/revoke';
import { grantView, listGrants, usesOfGrant } from '../grants/store';
import { parseFlags, type CliIo } from './io';
import { updateCards } from './kill';
import { withOperatorDb } from './operator-db';

export const GRANTS_USAGE = `  countersign grants list [--agent NAME] [--active] [--json]   standing grants ("Approve this and similar") and their uses
  countersign grants revoke GRANT_ID [--reason TEXT] [--json]  end a grant now: it approves nothing more`;

/** `countersign grants list|revoke`, audited as the CLI operator (docs/agent-controls.md, "Standing grants"). */
export async function runGrantsCommand(argv: string[], io: CliIo, operator: string): Promise<number> {
  const [sub, ...rest] = argv;
  const { flags, positionals } = parseFlags(rest);
  if (sub === '--help' || sub === '-h' || flags.help) {
    io.stdout(`usage:\n${GRANTS_USAGE}`);
    return 0;
  }
  if ((sub !== 'list' && sub !== 'revoke') || (sub === 'revoke' && !positionals[0])) {
    io.stderr(`usage:\n${GRANTS_USAGE}`);
    return 2;
  }
  return withOperatorDb(io, async (handle, env) => {
    if (sub === 'revoke') {
      const why = typeof flags.reason === 'string' ? flags.reason : null;
      const outcome = await revokeGrant(handle.db, positionals[0]!, operator, { why });
      if (outcome.kind === 'refused') {
        io.stderr(`not revoked: ${outcome.detail}`);
        return outcome.reason === 'not-found' ? 1 : 3;
      }
      await updateCards(env, [outcome.grant.originActionId], io);
      if (flags.json) io.stdout(JSON.stringify(grantView(outcome.grant)));
      else io.stdout(`revoked ${outcome.grant.id} (${outcome.grant.usedCount} of ${outcome.grant.maxCount} used); it approves nothing more`);
      return 0;
    }
    let agentId: string | undefined;
    if (typeof flags.agent === 'string') {
      const [agent] = await handle.db.select({ id: agents.id }).from(agents).where(eq(agents.name, flags.agent)).limit(1);
      if (!agent) {
        io.stderr(`no agent named ${flags.agent}`);
        return 1;
      }
      agentId = agent.id;
    }
    const grants = await listGrants(handle.db, { agentId, active: flags.active === true });
    if (flags.json) {
      const withUses = await Promise.all(grants.map(async (g) => ({ ...grantView(g), uses: (await usesOfGrant(handle.db, g.id)).map((u) => u.id) })));
      io.stdout(JSON.stringify(withUses));
      return 0;
    }
    if (grants.length === 0) {
      io.stdout('no standing grants');
      return 0;
    }
    for (const g of grants) {
      const state = g.status === 'active' ? `active until ${g.expiresAt.toISOString()}` : `ended (${g.endedReason ?? '?'})`;
      io.stdout(`${g.id}  ${g.actionClass}  ${g.usedCount}/${g.maxCount} used  ${state}  given on ${g.originActionId} by ${g.approvers.join(', ')}`);
    }
    return 0;
  });
}
