import type { App, ViewSubmitAction } from '@slack/bolt';
import { decideApproval } from '../../../approvals/decide';
import { confirmsHash, HASH_CONFIRM_LENGTH } from '../../../approvals/escalation';
import { logger } from '../../../lib/logger';
import { CONFIRM_HASH_BLOCK, CONFIRM_HASH_INPUT, CONFIRM_VIEW_ID, parseModalMetadata } from '../../interaction-ids';
import type { SlackDeps } from '../../deps';
import { answer } from '../answer';

/**
 * The high-risk approval form. A hash that does not match the card is refused inline (the modal stays open
 * with the error) — checked against the modal's own metadata, so the ack needs no database. The core checks
 * the typed hash again against the stored payload and records the answer, or the refusal, as evidence.
 */
export function registerConfirmHashView(app: App, deps: SlackDeps): void {
  app.view<ViewSubmitAction>(CONFIRM_VIEW_ID, async ({ ack, body, view, client }) => {
    const meta = parseModalMetadata(view.private_metadata);
    const typed = (view.state.values[CONFIRM_HASH_BLOCK]?.[CONFIRM_HASH_INPUT]?.value ?? '').trim();
    if (!meta) {
      await ack();
      return;
    }
    const input = { actionId: meta.action_id, userId: body.user.id, verdict: 'approve' as const, shownPayloadHash: meta.payload_hash, confirmedHashPrefix: typed };
    if (!confirmsHash(typed, meta.payload_hash)) {
      await ack({
        response_action: 'errors',
        errors: { [CONFIRM_HASH_BLOCK]: `That is not how the payload hash on the card starts. Check the card and type its first ${HASH_CONFIRM_LENGTH} characters.` },
      });
      // Evidence of the failed confirmation; the core refuses it (the hash does not match) and records why.
      await decideApproval(deps.db, deps.approverStanding, input).catch((err: unknown) => logger.warn({ err }, 'could not record a failed hash confirmation'));
      return;
    }
    await ack();
    await answer(deps, client, meta.channel, input);
  });
}
