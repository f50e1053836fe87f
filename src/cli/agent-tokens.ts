import { parseGrace, revokeAgentTokens, rotateAgentToken } from '../auth/token-admin';
import { parseFlags, type CliIo } from './io';
import { withOperatorDb } from './operator-db';

export const TOKENS_USAGE = `  countersign agents rotate NAME [--grace 15m] [--json]   new token; old ones work until the grace ends (0 = now)
  countersign agents revoke NAME [--token tok_…] [--reason TEXT]   revoke all (or one) of the agent's tokens at once`;

/** `agents rotate` and `agents revoke`: token lifecycle, audited as the CLI operator. */
export async function runAgentTokensCommand(sub: 'rotate' | 'revoke', argv: string[], io: CliIo, operator: string): Promise<number> {
  const { flags, positionals } = parseFlags(argv);
  const name = positionals[0];
  if (!name) {
    io.stderr(`usage:\n${TOKENS_USAGE}`);
    return 2;
  }
  return withOperatorDb(io, async (handle) => {
    if (sub === 'rotate') {
      const graceText = typeof flags.grace === 'string' ? flags.grace : '15m';
      const grace = parseGrace(graceText);
      if (grace === null) {
        io.stderr(`--grace "${graceText}" must be 0 or a duration like 15m, 1h, 2d (at most 30 days)`);
        return 2;
      }
      const r = await rotateAgentToken(handle.db, name, grace, operator);
      if (flags.json) io.stdout(JSON.stringify({ agent: r.agent, token: r.token, token_id: r.tokenId, previous: r.previous }));
      else {
        io.stdout(`new token for ${r.agent.name} (${r.tokenId}), shown once, store it now: ${r.token}`);
        for (const p of r.previous) io.stdout(`old token ${p.id} (${p.display_prefix}) stops working at ${p.expires_at}`);
        if (r.agent.status !== 'active') io.stdout(`note: ${r.agent.name} is ${r.agent.status}; run \`countersign resume ${r.agent.name}\` before it can act`);
      }
      return 0;
    }
    const r = await revokeAgentTokens(handle.db, name, operator, {
      tokenId: typeof flags.token === 'string' ? flags.token : undefined,
      reason: typeof flags.reason === 'string' ? flags.reason : undefined,
    });
    if (flags.json) io.stdout(JSON.stringify(r));
    else io.stdout(`revoked ${r.revoked.length} token(s) of ${r.agent.name}${r.revoked.length ? `: ${r.revoked.join(', ')}` : ''}`);
    return 0;
  });
}
