import type { ModalView } from '@slack/types';
import type { ActionRow } from '../../db/schema';
import { HASH_CONFIRM_LENGTH } from '../../approvals/escalation';
import {
  CONFIRM_HASH_BLOCK,
  CONFIRM_HASH_INPUT,
  CONFIRM_VIEW_ID,
  DENY_REASON_BLOCK,
  DENY_REASON_INPUT,
  DENY_VIEW_ID,
  EDIT_PARAMS_BLOCK,
  EDIT_PARAMS_INPUT,
  EDIT_REASON_BLOCK,
  EDIT_REASON_INPUT,
  EDIT_VIEW_ID,
  GRANT_COUNT_BLOCK,
  GRANT_COUNT_INPUT,
  GRANT_DURATION_BLOCK,
  GRANT_DURATION_INPUT,
  GRANT_VIEW_ID,
  NOTICE_VIEW_ID,
  PAYLOAD_VIEW_ID,
  modalMetadata,
  type ModalMetadata,
} from '../interaction-ids';
import { escapeCodeBlock, escapeMrkdwn, mrkdwn, plain } from './escape';
import { fullPayloadText, splitEscaped } from './payload';
import type { Block } from './approval-card';
import { describeSimilar, type VariableSpec } from '../../grants/similar';
import type { StandingRule } from '../../grants/store';

const DURATION_CHOICES = [900, 1800, 3600, 7200, 14400, 28800, 86400, 604800];

function durationLabel(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400} day${seconds === 86400 ? '' : 's'}`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}`;
  if (seconds % 60 === 0) return `${seconds / 60} minutes`;
  return `${seconds} seconds`;
}

/** The durations an approver may choose for a grant: the usual ones up to the rule's maximum, and the maximum. */
export function grantDurations(maxSeconds: number): number[] {
  const list = DURATION_CHOICES.filter((d) => d < maxSeconds);
  return [...list, maxSeconds];
}

/**
 * "Approve this and similar": says exactly what "similar" means and lets the approver choose a duration and a
 * count within the rule's limits. Submitting approves this action and asks for the grant (a quorum rule
 * needs every counted approver to ask for one).
 */
export function grantModal(meta: ModalMetadata, standing: StandingRule, actionClass: string): Modal {
  const durations = grantDurations(standing.max_duration_seconds);
  const option = (d: number) => ({ text: plain(durationLabel(d), 75), value: String(d) });
  const initial = durations.find((d) => d >= Math.min(3600, standing.max_duration_seconds)) ?? durations[0]!;
  return modal({
    type: 'modal',
    callback_id: GRANT_VIEW_ID,
    private_metadata: modalMetadata(meta),
    title: plain('Approve and similar', 24),
    submit: plain('Approve', 24),
    close: plain('Cancel', 24),
    blocks: [
      {
        type: 'section',
        text: mrkdwn(
          `Approves action \`${meta.action_id}\` now, and later requests that are *similar*: from the same agent, for \`${escapeMrkdwn(actionClass)}\`, with ${escapeMrkdwn(describeSimilar(standing.variable as VariableSpec))}. Each use is recorded as your approval and counted on the card; you or any approver can revoke it there.`,
        ),
      },
      {
        type: 'input',
        block_id: GRANT_DURATION_BLOCK,
        label: plain('For how long', 2000),
        element: { type: 'static_select', action_id: GRANT_DURATION_INPUT, options: durations.map(option), initial_option: option(initial) },
      },
      {
        type: 'input',
        block_id: GRANT_COUNT_BLOCK,
        label: plain(`How many similar requests (at most ${standing.max_count})`, 2000),
        element: {
          type: 'number_input',
          action_id: GRANT_COUNT_INPUT,
          is_decimal_allowed: false,
          min_value: '1',
          max_value: String(standing.max_count),
          initial_value: String(Math.min(5, standing.max_count)),
        },
      },
    ],
  });
}

/**
 * "Edit and approve": the parameters as JSON, for the approver to correct. Submitting validates them by the
 * tool contract, decides them again by policy, re-prepares them, and approves the new payload hash.
 */
export function editModal(meta: ModalMetadata, params: Record<string, unknown>): Modal {
  return modal({
    type: 'modal',
    callback_id: EDIT_VIEW_ID,
    private_metadata: modalMetadata(meta),
    title: plain('Edit and approve', 24),
    submit: plain('Approve edited', 24),
    close: plain('Cancel', 24),
    blocks: [
      {
        type: 'section',
        text: mrkdwn(
          `Edit the parameters of \`${meta.action_id}\`. The edit is checked by the tool contract and decided again by policy; the agent and the audit trail see both versions and who edited.`,
        ),
      },
      {
        type: 'input',
        block_id: EDIT_PARAMS_BLOCK,
        label: plain('Parameters (JSON)', 2000),
        element: { type: 'plain_text_input', action_id: EDIT_PARAMS_INPUT, multiline: true, initial_value: JSON.stringify(params, null, 2), max_length: 3000 },
      },
      {
        type: 'input',
        block_id: EDIT_REASON_BLOCK,
        optional: true,
        label: plain('Why (shown to the agent)', 2000),
        element: { type: 'plain_text_input', action_id: EDIT_REASON_INPUT, max_length: 500 },
      },
    ],
  });
}

/** Our builders work on plain Block Kit JSON (the emulator validates it); Bolt's client wants its `View` type. */
export type Modal = ModalView;
const modal = (m: Record<string, unknown> & { blocks: Block[] }): Modal => m as unknown as Modal;

const MODAL_BLOCKS_MAX = 100;
/** Characters of escaped payload per section, leaving room for the ``` fences within Slack's 3,000. */
const PAYLOAD_CHUNK = 2900;
/** Keeps the whole view well under Slack's 250 kB view size. */
const PAYLOAD_CHUNKS_MAX = 60;

/** Asks an approver why they deny. Opened straight from the click (the trigger_id lives 3 s). */
export function denyReasonModal(meta: ModalMetadata): Modal {
  return modal({
    type: 'modal',
    callback_id: DENY_VIEW_ID,
    private_metadata: modalMetadata(meta),
    title: plain('Deny request', 24),
    submit: plain('Deny', 24),
    close: plain('Cancel', 24),
    blocks: [
      { type: 'section', text: mrkdwn(`Denying action \`${meta.action_id}\` (payload \`${meta.payload_hash.slice(0, 16)}\`). The agent and the audit log will see your reason.`) },
      {
        type: 'input',
        block_id: DENY_REASON_BLOCK,
        label: plain('Why are you denying it?', 2000),
        element: { type: 'plain_text_input', action_id: DENY_REASON_INPUT, multiline: true, min_length: 3, max_length: 1000 },
      },
    ],
  });
}

/**
 * For high-risk rules: the approver types the first characters of the payload hash printed on the card,
 * so nobody approves what they did not look at. The modal itself never shows the hash.
 */
export function confirmHashModal(meta: ModalMetadata): Modal {
  return modal({
    type: 'modal',
    callback_id: CONFIRM_VIEW_ID,
    private_metadata: modalMetadata(meta),
    title: plain('Confirm approval', 24),
    submit: plain('Approve', 24),
    close: plain('Cancel', 24),
    blocks: [
      {
        type: 'section',
        text: mrkdwn(
          `*This is a high-risk action* (\`${meta.action_id}\`). Check the parameters on the card, then type the first ${HASH_CONFIRM_LENGTH} characters of the *payload hash* shown on it.`,
        ),
      },
      {
        type: 'input',
        block_id: CONFIRM_HASH_BLOCK,
        label: plain(`First ${HASH_CONFIRM_LENGTH} characters of the payload hash`, 2000),
        element: { type: 'plain_text_input', action_id: CONFIRM_HASH_INPUT, min_length: HASH_CONFIRM_LENGTH, max_length: 64 },
      },
    ],
  });
}

/** A modal that only tells the user something (a refusal, a missing request). */
export function noticeModal(title: string, text: string, callbackId = NOTICE_VIEW_ID): Modal {
  return modal({ type: 'modal', callback_id: callbackId, title: plain(title, 24), close: plain('Close', 24), blocks: [{ type: 'section', text: mrkdwn(text) }] });
}

/** Opened at once on "View full payload"; replaced with the payload when it has been read. */
export function loadingPayloadModal(): Modal {
  return noticeModal('Full payload', 'Loading…', PAYLOAD_VIEW_ID);
}

/** The whole redacted payload, split across as many blocks as it needs (up to Slack's 100 per view). */
export function fullPayloadModal(action: ActionRow): Modal {
  const head: Block[] = [
    {
      type: 'section',
      text: mrkdwn(`*${escapeMrkdwn(action.actionClass)}* — action \`${action.id}\`\nPayload hash \`${action.payloadHash}\`\nSecrets are redacted.`),
    },
  ];
  const sections = (label: string, value: unknown): Block[] => {
    const chunks = splitEscaped(fullPayloadText(value), PAYLOAD_CHUNK, escapeCodeBlock);
    return [{ type: 'section', text: mrkdwn(`*${label}*`) }, ...chunks.map((c) => ({ type: 'section', text: mrkdwn(`\`\`\`${c}\`\`\``) }))];
  };
  let body = [...sections('Parameters', action.params), ...sections('What the agent says (claims, not read by policy)', action.context)];
  if (action.preview !== null && action.preview !== undefined) body.push(...sections('Dry-run preview', action.preview));
  const room = Math.min(MODAL_BLOCKS_MAX - head.length - 1, PAYLOAD_CHUNKS_MAX);
  if (body.length > room) {
    body = body.slice(0, room);
    body.push({ type: 'context', elements: [mrkdwn(`Too long to show in Slack. The whole request (redacted) is in the evidence: \`/audit ${action.id}\`.`)] });
  }
  return modal({ type: 'modal', callback_id: PAYLOAD_VIEW_ID, title: plain('Full payload', 24), close: plain('Close', 24), blocks: [...head, ...body] });
}
