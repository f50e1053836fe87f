import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { eq } from 'drizzle-orm';
import { actions } from '../../../db/schema';
import { storedEscalation } from '../../../approvals/escalation';
import { logger } from '../../../lib/logger';
import { fullPayloadModal, loadingPayloadModal, noticeModal } from '../../blocks/modals';
import { VIEW_PAYLOAD_ACTION_ID } from '../../interaction-ids';
import type { SlackDeps } from '../../deps';
import { tell } from '../answer';
import { clickedWhere } from '../channel';

/**
 * "View full payload": opens a loading modal at once (the trigger_id lives 3 seconds), then reads the action
 * and replaces the modal with the whole redacted payload. Only from the card's own channels: the button's
 * value names an action, and a channel must not become a window onto another group's requests.
 */
export function registerViewPayloadButton(app: App, deps: SlackDeps): void {
  app.action<BlockAction<ButtonAction>>(VIEW_PAYLOAD_ACTION_ID, async ({ ack, body, action, client }) => {
    await ack();
    const { channel } = clickedWhere(body);
    let viewId: string | undefined;
    try {
      viewId = (await client.views.open({ trigger_id: body.trigger_id, view: loadingPayloadModal() })).view?.id;
    } catch (err) {
      logger.warn({ err }, 'could not open the payload modal');
      return tell(client, channel, body.user.id, 'Countersign could not open the payload in time; please click again.');
    }
    if (!viewId) return;
    try {
      const [row] = await deps.db.select().from(actions).where(eq(actions.id, action.value ?? '')).limit(1);
      // The channels the card goes to by config (the stored ts/channel may not be written yet when someone clicks at once).
      const groups = row ? [row.approverGroup, storedEscalation(row).escalateTo?.via] : [];
      const visible = row && channel && groups.some((g) => g && deps.config.approver_groups[g]?.channel === channel);
      const view = visible ? fullPayloadModal(row) : noticeModal('Full payload', 'This request is not shown in this channel.');
      await client.views.update({ view_id: viewId, view });
    } catch (err) {
      logger.warn({ err }, 'could not show the full payload');
      await client.views.update({ view_id: viewId, view: noticeModal('Full payload', 'Countersign could not read the payload just now; please try again.') }).catch(() => undefined);
    }
  });
}
