import type { App } from '@slack/bolt';
import { appendEvents } from '../../../audit/append';
import { AgentNotFoundError } from '../../../auth/token-admin';
import { killAgent, killAllAgents, resumeAgent, type KillResult } from '../../../controls/kill-switch';
import type { SlackDeps } from '../../deps';

export type CountersignInvocation = { userId: string; text: string; channelId: string };
type Respond = (message: { response_type: 'ephemeral'; text: string }) => Promise<unknown>;
type Deps = Pick<SlackDeps, 'db' | 'directory'> & { afterCancel?(actionIds: string[]): void };

export const ADMIN_REFUSAL = 'Only members of the admins group may use /countersign kill and resume. This attempt was recorded.';
const USAGE = 'Usage: `/countersign kill AGENT`, `/countersign kill --all`, `/countersign resume AGENT`';

function killSummary(r: KillResult): string {
  const parts = [`*${r.agent.name}* is suspended and ${r.tokens_revoked.length} token(s) revoked`, `${r.cancelled.length} action(s) cancelled`];
  if (r.executing.length) parts.push(`${r.executing.length} executor call(s) in flight will finish and be recorded`);
  return parts.join('; ');
}

/**
 * One /countersign invocation after the ack: admins only (the `admins` group of countersign.yaml), the
 * same kill switch as the CLI with the Slack user as the actor, answered ephemerally.
 */
export async function handleCountersignCommand(deps: Deps, inv: CountersignInvocation, respond: Respond): Promise<void> {
  const actor = `slack:${inv.userId}`;
  const [verb, target, ...rest] = inv.text.trim().split(/\s+/).filter(Boolean);
  if ((verb !== 'kill' && verb !== 'resume') || !target || rest.length) {
    await respond({ response_type: 'ephemeral', text: USAGE });
    return;
  }
  const allowed = await deps.directory.isMember('admins', inv.userId).catch(() => false);
  if (!allowed) {
    await appendEvents(deps.db, [{ type: 'admin.access_refused', actor, data: { command: '/countersign', text: inv.text, channel: inv.channelId } }]);
    await respond({ response_type: 'ephemeral', text: ADMIN_REFUSAL });
    return;
  }
  try {
    if (verb === 'kill') {
      const results = target === '--all' ? await killAllAgents(deps.db, actor, 'kill switch from Slack') : [await killAgent(deps.db, target, actor, 'kill switch from Slack')];
      deps.afterCancel?.(results.flatMap((r) => r.cards));
      await respond({ response_type: 'ephemeral', text: results.length ? results.map(killSummary).join('\n') : 'There are no agents.' });
      return;
    }
    const r = await resumeAgent(deps.db, target, actor);
    await respond({
      response_type: 'ephemeral',
      text: `*${r.agent.name}* is active again${r.was_suspended ? '' : ' (it was not suspended)'}. Its old tokens stay revoked: issue a new one with \`countersign agents rotate ${r.agent.name}\`.`,
    });
  } catch (e) {
    if (e instanceof AgentNotFoundError) {
      await respond({ response_type: 'ephemeral', text: e.message });
      return;
    }
    throw e;
  }
}

/** `/countersign`: ack at once (Slack's 3-second limit), act, answer through response_url. */
export function registerCountersignCommand(app: App, deps: SlackDeps): void {
  app.command('/countersign', async ({ ack, command, respond }) => {
    await ack();
    await handleCountersignCommand(deps, { userId: command.user_id, text: command.text ?? '', channelId: command.channel_id }, (m) => respond(m)).catch(async () => {
      await respond({ response_type: 'ephemeral', text: 'Countersign could not run that command just now; nothing may have changed — check `/audit` and try again.' }).catch(() => undefined);
    });
  });
}
