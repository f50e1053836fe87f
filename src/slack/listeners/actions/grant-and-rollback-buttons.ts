import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { revokeGrant } from '../../../grants/revoke';
import { logger } from '../../../lib/logger';
import { GRANT_REVOKE_ACTION_ID, ROLLBACK_ACTION_ID } from '../../interaction-ids';
import type { SlackDeps } from '../../deps';
import { tell } from '../answer';
import { clickedWhere } from '../channel';

/** "Revoke grant" on the card that gave a standing grant, and "Roll back" in a committed action's thread. */
export function registerGrantAndRollbackButtons(app: App, deps: SlackDeps): void {
  app.action<BlockAction<ButtonAction>>(GRANT_REVOKE_ACTION_ID, async ({ ack, body, action, client }) => {
    await ack();
    const { channel } = clickedWhere(body);
    const user = body.user.id;
    try {
      const outcome = await revokeGrant(deps.db, action.value ?? '', `slack:${user}`, { approverStanding: deps.approverStanding, slackUserId: user });
      if (outcome.kind === 'refused') return tell(client, channel, user, `Nothing changed: ${outcome.detail}.`);
      deps.afterGrantEnded?.(outcome.grant.originActionId);
      await tell(client, channel, user, `Grant ${outcome.grant.id} is revoked: it approves nothing more (${outcome.grant.usedCount} of ${outcome.grant.maxCount} were used).`);
    } catch (err) {
      logger.error({ err, grant: action.value }, 'could not revoke a grant');
      await tell(client, channel, user, 'Countersign could not revoke the grant just now; it still holds. Please try again in a moment.');
    }
  });

  app.action<BlockAction<ButtonAction>>(ROLLBACK_ACTION_ID, async ({ ack, body, action, client }) => {
    await ack();
    const { channel } = clickedWhere(body);
    const user = body.user.id;
    if (!deps.fileRollback) return tell(client, channel, user, 'Rollback is not available on this Countersign.');
    try {
      const outcome = await deps.fileRollback(action.value ?? '', user);
      if (outcome.kind === 'refused') return tell(client, channel, user, `Not rolled back: ${outcome.detail}.`);
      const where = outcome.status === 'pending_approval' ? ' It needs approval; its card is posted to the approvers.' : '';
      await tell(
        client,
        channel,
        user,
        outcome.replayed
          ? `This action's rollback was already filed: \`${outcome.actionId}\` (${outcome.status.replace('_', ' ')}). Nothing new was filed.`
          : `Rollback filed as \`${outcome.actionId}\` on your behalf (${outcome.status.replace('_', ' ')}).${where}`,
      );
    } catch (err) {
      logger.error({ err, action: action.value }, 'could not file a rollback');
      await tell(client, channel, user, 'Countersign could not file the rollback just now; nothing was filed. Please try again in a moment.');
    }
  });
}
