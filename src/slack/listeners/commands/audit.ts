import type { App } from '@slack/bolt';
import { appendEvents } from '../../../audit/append';
import type { SlackDeps } from '../../deps';
import { buildAuditReply, parseAuditCommand, type AuditReply } from './audit-reply';

export type AuditInvocation = { userId: string; text: string; channelId: string };
export type Respond = (message: { response_type: 'ephemeral'; text: string; blocks?: Record<string, unknown>[] }) => Promise<unknown>;

export const AUDIT_REFUSAL = 'Only members of the auditors group may use /audit. This attempt was recorded.';

/**
 * One /audit invocation after the ack: check the auditors group, answer ephemerally through response_url,
 * and record the access (granted or refused) in the evidence stream itself.
 */
export async function handleAuditCommand(deps: Pick<SlackDeps, 'db' | 'directory'>, inv: AuditInvocation, respond: Respond): Promise<AuditReply | null> {
  const actor = `slack:${inv.userId}`;
  const allowed = await deps.directory.isMember('auditors', inv.userId).catch(() => false);
  if (!allowed) {
    await appendEvents(deps.db, [{ type: 'audit.access_refused', actor, data: { command: '/audit', text: inv.text, channel: inv.channelId } }]);
    await respond({ response_type: 'ephemeral', text: AUDIT_REFUSAL });
    return null;
  }
  const cmd = parseAuditCommand(inv.text);
  const reply = await buildAuditReply(deps.db, cmd);
  if (cmd.kind !== 'help' && cmd.kind !== 'invalid') {
    await appendEvents(deps.db, [{ type: 'audit.queried', actor, data: { command: '/audit', query: cmd, channel: inv.channelId, shown: reply.shown, total: reply.total } }]);
  }
  await respond({ response_type: 'ephemeral', text: reply.text, blocks: reply.blocks });
  return reply;
}

/** `/audit`: ack at once (Slack's 3-second limit), answer later through response_url. */
export function registerAuditCommand(app: App, deps: SlackDeps): void {
  app.command('/audit', async ({ ack, command, respond }) => {
    await ack();
    await handleAuditCommand(deps, { userId: command.user_id, text: command.text ?? '', channelId: command.channel_id }, (m) => respond(m as Parameters<typeof respond>[0])).catch(
      async () => {
        await respond({ response_type: 'ephemeral', text: 'Countersign could not answer /audit just now; try again in a moment.' }).catch(() => undefined);
      },
    );
  });
}
