import type { BlockAction, ButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { precheckApproval, type ApprovalVerdict } from '../../../approvals/decide';
import type { ActionRow } from '../../../db/schema';
import { logger } from '../../../lib/logger';
import { noticeModal, type Modal } from '../../blocks/modals';
import { parseButtonValue, type ModalMetadata } from '../../interaction-ids';
import type { SlackDeps } from '../../deps';
import { refusalText, tell } from '../answer';
import { clickedWhere } from '../channel';

/**
 * A card button that opens a form before anything is recorded (Deny, high-risk Approve, Approve this and similar,
 * Edit and approve). The modal is opened first, straight after the ack — the trigger_id lives 3 seconds — and only
 * then is the clicker checked; a refusal replaces the form and is told ephemerally (and recorded as evidence by
 * the pre-check). `build` may return null when the action no longer offers the form (the notice says so).
 */
export async function openDecisionForm(
  deps: SlackDeps,
  args: { body: BlockAction; action: ButtonAction; client: WebClient; retryNum?: number },
  verdict: ApprovalVerdict,
  title: string,
  build: (meta: ModalMetadata, action: ActionRow | null) => Modal | null,
  needsAction = false,
): Promise<void> {
  const { body, action, client } = args;
  const { channel, messageTs } = clickedWhere(body);
  const user = body.user.id;
  const value = parseButtonValue(action.value);
  if (!value) return tell(client, channel, user, 'This button is not a Countersign approval.');
  const meta: ModalMetadata = { ...value, channel, message_ts: messageTs };
  let viewId: string | undefined;
  try {
    // Forms that need the action's row (its params, its rule's limits) open as "Loading…" and are filled in below.
    const first = needsAction ? noticeModal(title, 'Loading…') : build(meta, null)!;
    viewId = (await client.views.open({ trigger_id: body.trigger_id, view: first })).view?.id;
  } catch (err) {
    logger.warn({ err, action: value.action_id, retry: args.retryNum }, 'could not open a decision modal');
    // A retried delivery carries the trigger_id the first delivery already used to open the form.
    if (!args.retryNum) await tell(client, channel, user, 'Countersign could not open the form in time; nothing was recorded. Please click again.');
    return;
  }
  const pre = await precheckApproval(deps.db, deps.approverStanding, { actionId: value.action_id, userId: user, verdict, shownPayloadHash: value.payload_hash }).catch(
    (err: unknown) => {
      // The submission checks everything again; a failed pre-check only loses the early warning.
      logger.warn({ err, action: value.action_id }, 'approval pre-check failed');
      return null;
    },
  );
  if (pre?.kind !== 'refused') {
    if (needsAction && viewId) {
      const view = (pre?.kind === 'ok' ? build(meta, pre.action) : null) ?? noticeModal(title, 'This request does not offer this form (any more); nothing was recorded.');
      await client.views.update({ view_id: viewId, view }).catch((err: unknown) => logger.warn({ err }, 'could not fill a decision modal'));
    }
    return;
  }
  const text = await refusalText(deps, pre);
  if (viewId) {
    await client.views.update({ view_id: viewId, view: noticeModal(title, text) }).catch((err: unknown) => logger.warn({ err }, 'could not replace a refused decision modal'));
  }
  await tell(client, channel, user, text);
}
