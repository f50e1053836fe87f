import type { App, ViewSubmitAction } from '@slack/bolt';
import { editAndApprove, type EditOutcome } from '../../../approvals/edit';
import { logger } from '../../../lib/logger';
import { EDIT_PARAMS_BLOCK, EDIT_PARAMS_INPUT, EDIT_REASON_BLOCK, EDIT_REASON_INPUT, EDIT_VIEW_ID, parseModalMetadata } from '../../interaction-ids';
import type { SlackDeps } from '../../deps';
import { refusalText, tell } from '../answer';

/** Slack wants the view submission answered within 3 s; an edit that takes longer is answered in the channel. */
const INLINE_ANSWER_MS = 2000;

function parseParams(text: string): Record<string, unknown> | string {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : 'The parameters must be one JSON object ({ … }).';
  } catch (err) {
    return `This is not valid JSON: ${(err as Error).message}`;
  }
}

/**
 * "Edit and approve" submitted. A problem with the edit (JSON, contract, policy deny, budget) is shown on the field
 * and the modal stays open; nothing changes. An accepted edit closes the modal; the card is updated, or re-posted
 * to the group the edited request needs.
 */
export function registerEditView(app: App, deps: SlackDeps): void {
  app.view<ViewSubmitAction>(EDIT_VIEW_ID, async ({ ack, body, view, client }) => {
    const meta = parseModalMetadata(view.private_metadata);
    if (!meta || !deps.policy) {
      await ack();
      return;
    }
    const parsed = parseParams(view.state.values[EDIT_PARAMS_BLOCK]?.[EDIT_PARAMS_INPUT]?.value ?? '');
    if (typeof parsed === 'string') {
      await ack({ response_action: 'errors', errors: { [EDIT_PARAMS_BLOCK]: parsed } });
      return;
    }
    const reason = (view.state.values[EDIT_REASON_BLOCK]?.[EDIT_REASON_INPUT]?.value ?? '').trim() || null;
    const user = body.user.id;
    const work = editAndApprove(
      { db: deps.db, policy: deps.policy, config: deps.config, approverStanding: deps.approverStanding },
      { actionId: meta.action_id, userId: user, shownPayloadHash: meta.payload_hash, params: parsed, reason },
    );
    let acked = false;
    const slow = new Promise<'slow'>((resolve) => setTimeout(() => resolve('slow'), INLINE_ANSWER_MS).unref());
    const first = await Promise.race([work.catch(() => null), slow]);
    if (first === 'slow') {
      acked = true;
      await ack();
    }
    let outcome: EditOutcome;
    try {
      outcome = await work;
    } catch (err) {
      logger.error({ err, action: meta.action_id, user }, 'could not record an edit');
      if (!acked) await ack();
      await tell(client, meta.channel, user, 'Countersign could not record your edit just now; nothing changed. Please try again in a moment.');
      return;
    }
    if (outcome.kind === 'invalid') {
      if (!acked) return void (await ack({ response_action: 'errors', errors: { [EDIT_PARAMS_BLOCK]: outcome.message.slice(0, 1900) } }));
      return tell(client, meta.channel, user, `Your edit was not accepted; nothing changed. ${outcome.message}`);
    }
    if (!acked) await ack();
    if (outcome.kind === 'refused') return tell(client, meta.channel, user, await refusalText(deps, outcome));
    if (outcome.kind === 'rerouted') {
      deps.afterEdit?.(outcome.action.id, { rerouted: true, previousCard: outcome.previousCard });
      return tell(client, meta.channel, user, `Your edit is recorded. The edited request needs approval by ${outcome.to}, so it was sent there; your approval was not counted.`);
    }
    deps.afterEdit?.(outcome.action.id, { rerouted: false, previousCard: null });
    if (outcome.approval.kind === 'refused') return tell(client, meta.channel, user, await refusalText(deps, outcome.approval));
    deps.afterDecision(outcome.action.id, outcome.approval.kind);
  });
}
