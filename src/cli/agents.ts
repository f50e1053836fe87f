import { createAgent, listAgents } from '../auth/agents';
import { parseFlags, type CliIo } from './io';
import { runAgentTokensCommand, TOKENS_USAGE } from './agent-tokens';
import { runAgentSetCommand, SET_USAGE } from './agent-set';
import { withOperatorDb } from './operator-db';

export const USAGE = `usage:
  countersign agents create NAME --scopes 'a.b.*,c.d' [--owner TEAM] [--rate-limit N]
  countersign agents list [--json]
${SET_USAGE}
${TOKENS_USAGE}`;

export async function runAgentsCommand(argv: string[], io: CliIo, operator: string): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'rotate' || sub === 'revoke') return runAgentTokensCommand(sub, rest, io, operator);
  if (sub === 'set') return runAgentSetCommand(rest, io, operator);
  const { flags, positionals } = parseFlags(rest);
  return withOperatorDb(io, async (handle) => {
    if (sub === 'create') {
      const name = positionals[0];
      const scopes = typeof flags.scopes === 'string' ? flags.scopes.split(',').map((s) => s.trim()).filter(Boolean) : [];
      if (!name || scopes.length === 0) {
        io.stderr(USAGE);
        return 2;
      }
      const rate = typeof flags['rate-limit'] === 'string' ? Number(flags['rate-limit']) : null;
      const { agent, token } = await createAgent(
        handle.db,
        { name, owner: typeof flags.owner === 'string' ? flags.owner : '', scopes, rateLimitPerMinute: rate },
        operator,
      );
      if (flags.json) io.stdout(JSON.stringify({ agent, token }));
      else {
        io.stdout(`created agent ${agent.name} (${agent.id}) with scopes ${agent.scopes.join(', ')}`);
        io.stdout(`token (shown once, store it now): ${token}`);
      }
      return 0;
    }
    if (sub === 'list') {
      const rows = await listAgents(handle.db);
      if (flags.json) io.stdout(JSON.stringify(rows));
      else for (const a of rows) io.stdout(`${a.name}\t${a.id}\t${a.status}\towner=${a.owner || '-'}\tscopes=${a.scopes.join(',')}`);
      return 0;
    }
    io.stderr(USAGE);
    return 2;
  });
}
