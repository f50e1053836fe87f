import type { App, ViewSubmitAction } from '@slack/bolt';
import { GRANT_COUNT_BLOCK, GRANT_COUNT_INPUT, GRANT_DURATION_BLOCK, GRANT_DURATION_INPUT, GRANT_VIEW_ID, parseModalMetadata } from '../../interaction-ids';
import type { SlackDeps } from '../../deps';
import { answer } from '../answer';

/**
 * "Approve this and similar" submitted: the count and duration are checked for their form here (inline errors);
 * the core checks them against the rule's limits, approves the action and, once the quorum has all asked for a
 * grant, gives it (src/approvals/decide.ts, src/grants/store.ts).
 */
export function registerGrantView(app: App, deps: SlackDeps): void {
  app.view<ViewSubmitAction>(GRANT_VIEW_ID, async ({ ack, body, view, client }) => {
    const meta = parseModalMetadata(view.private_metadata);
    const values = view.state.values;
    const duration = Number(values[GRANT_DURATION_BLOCK]?.[GRANT_DURATION_INPUT]?.selected_option?.value);
    const count = Number(values[GRANT_COUNT_BLOCK]?.[GRANT_COUNT_INPUT]?.value);
    const errors: Record<string, string> = {};
    if (!Number.isInteger(duration) || duration < 1) errors[GRANT_DURATION_BLOCK] = 'Choose how long the grant holds.';
    if (!Number.isInteger(count) || count < 1) errors[GRANT_COUNT_BLOCK] = 'Say how many similar requests it may approve (a whole number, at least 1).';
    if (meta && Object.keys(errors).length) {
      await ack({ response_action: 'errors', errors });
      return;
    }
    await ack();
    if (!meta) return;
    await answer(deps, client, meta.channel, {
      actionId: meta.action_id,
      userId: body.user.id,
      verdict: 'approve',
      reason: null,
      shownPayloadHash: meta.payload_hash,
      grant: { duration_seconds: duration, count },
    });
  });
}
