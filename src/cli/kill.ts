import type { Env } from '../config/env';
import { killAgent, killAllAgents, resumeAgent, type KillResult } from '../controls/kill-switch';
import { connectRedis } from '../queue/connection';
import { redisTargetOf } from '../queue/redis-target';
import { createCardQueue, enqueueCardJob } from '../queue/card-queue';
import { parseFlags, type CliIo } from './io';
import { withOperatorDb } from './operator-db';

export const KILL_USAGE = `  countersign kill AGENT|--all [--reason TEXT] [--json]   suspend, revoke all tokens, cancel pending and queued work
  countersign resume AGENT                                  lift the suspension (then: agents rotate AGENT for a token)`;

/** Queues a card update for every action whose card changed (cancelled; a grant ended) so Slack shows it. */
export async function updateCards(env: Env, ids: string[], io: CliIo): Promise<void> {
  if (ids.length === 0) return;
  const target = redisTargetOf(env);
  if (!target) {
    io.stderr(`neither REDIS_URL nor REDIS_SENTINELS is set: ${ids.length} action(s) are cancelled, but their Slack cards were not updated`);
    return;
  }
  const redis = connectRedis(target, 'countersign-cli');
  const queue = createCardQueue(redis, env.COUNTERSIGN_QUEUE_PREFIX);
  try {
    for (const id of ids) await enqueueCardJob(queue, { kind: 'update', action_id: id });
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

function describe(r: KillResult): string {
  const lines = [
    `killed ${r.agent.name} (${r.agent.id}) at ${r.at} by ${r.by}${r.already_suspended ? ' (it was already suspended)' : ''}`,
    `  tokens revoked: ${r.tokens_revoked.length}`,
    `  actions cancelled: ${r.cancelled.length}${r.cancelled.length ? ` (${r.cancelled.join(', ')})` : ''}`,
  ];
  if (r.executing.length) lines.push(`  executor calls in flight (they finish and are recorded): ${r.executing.join(', ')}`);
  return lines.join('\n');
}

/** `countersign kill AGENT|--all` and `countersign resume AGENT`, audited as the CLI operator. */
export async function runKillCommand(command: 'kill' | 'resume', argv: string[], io: CliIo, operator: string): Promise<number> {
  const { flags, positionals } = parseFlags(argv);
  const name = positionals[0];
  const all = command === 'kill' && flags.all === true;
  if ((!name && !all) || (name && all)) {
    io.stderr(`usage:\n${KILL_USAGE}`);
    return 2;
  }
  return withOperatorDb(io, async (handle, env) => {
    if (command === 'resume') {
      const r = await resumeAgent(handle.db, name!, operator);
      if (flags.json) io.stdout(JSON.stringify(r));
      else io.stdout(`${r.agent.name} is active again${r.was_suspended ? '' : ' (it was not suspended)'}; its old tokens stay revoked: run \`countersign agents rotate ${r.agent.name}\``);
      return 0;
    }
    const reason = typeof flags.reason === 'string' ? flags.reason : null;
    const results = all ? await killAllAgents(handle.db, operator, reason) : [await killAgent(handle.db, name!, operator, reason)];
    await updateCards(env, results.flatMap((r) => r.cards), io);
    if (flags.json) io.stdout(JSON.stringify(all ? results : results[0]));
    else io.stdout(results.length ? results.map(describe).join('\n') : 'there are no agents');
    return 0;
  });
}
