import { updateAgent, type AgentChanges } from '../auth/agent-update';
import { parseFlags, type CliIo } from './io';
import { withOperatorDb } from './operator-db';

export const SET_USAGE = `  countersign agents set NAME [--scopes 'a.b.*,c.d'] [--owner TEAM] [--rate-limit N|default]   change an agent`;

/** `agents set`: scopes, owner and rate limit; applies from the agent's next request, audited. */
export async function runAgentSetCommand(argv: string[], io: CliIo, operator: string): Promise<number> {
  const { flags, positionals } = parseFlags(argv);
  const name = positionals[0];
  const changes: AgentChanges = {};
  if (typeof flags.scopes === 'string') changes.scopes = flags.scopes.split(',').map((s) => s.trim()).filter(Boolean);
  if (typeof flags.owner === 'string') changes.owner = flags.owner;
  if (typeof flags['rate-limit'] === 'string') changes.rateLimitPerMinute = flags['rate-limit'] === 'default' ? null : Number(flags['rate-limit']);
  if (!name || Object.keys(changes).length === 0) {
    io.stderr(`usage:\n${SET_USAGE}`);
    return 2;
  }
  return withOperatorDb(io, async (handle) => {
    const a = await updateAgent(handle.db, name, changes, operator);
    if (flags.json) io.stdout(JSON.stringify({ id: a.id, name: a.name, owner: a.owner, scopes: a.scopes, rate_limit_per_minute: a.rateLimitPerMinute }));
    else io.stdout(`${a.name}: owner=${a.owner || '-'} scopes=${a.scopes.join(',')} rate_limit=${a.rateLimitPerMinute ?? 'default'}/min`);
    return 0;
  });
}
