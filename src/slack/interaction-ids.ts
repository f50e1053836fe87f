import { z } from 'zod';

/** action_ids of the card's buttons and callback_ids of our modals: the contract between blocks and listeners. */
export const APPROVE_ACTION_ID = 'countersign_approve';
/** Approve on a high-risk card: opens the hash-confirmation modal instead of deciding at once. */
export const APPROVE_CONFIRM_ACTION_ID = 'countersign_approve_confirm';
export const DENY_ACTION_ID = 'countersign_deny';
export const VIEW_PAYLOAD_ACTION_ID = 'countersign_view_payload';
/** "Approve this and similar…": opens the standing-grant form (src/grants). */
export const APPROVE_SIMILAR_ACTION_ID = 'countersign_approve_similar';
/** "Edit and approve…": opens the parameters for editing (src/approvals/edit.ts). */
export const EDIT_ACTION_ID = 'countersign_edit';
/** "Revoke grant" on a card whose approval gave a standing grant; the value is the grant id. */
export const GRANT_REVOKE_ACTION_ID = 'countersign_grant_revoke';
/** "Roll back" in a committed action's thread; the value is the action id. */
export const ROLLBACK_ACTION_ID = 'countersign_rollback';
export const DECISION_BLOCK_ID = 'countersign_decision';

export const DENY_VIEW_ID = 'countersign_deny_reason';
export const CONFIRM_VIEW_ID = 'countersign_confirm_hash';
export const PAYLOAD_VIEW_ID = 'countersign_payload';
export const GRANT_VIEW_ID = 'countersign_grant';
export const EDIT_VIEW_ID = 'countersign_edit_params';
/** A modal that only informs (a refusal replacing a decision form). */
export const NOTICE_VIEW_ID = 'countersign_notice';

export const DENY_REASON_BLOCK = 'deny_reason';
export const DENY_REASON_INPUT = 'reason';
export const CONFIRM_HASH_BLOCK = 'confirm_hash';
export const CONFIRM_HASH_INPUT = 'hash_prefix';
export const GRANT_DURATION_BLOCK = 'grant_duration';
export const GRANT_DURATION_INPUT = 'duration';
export const GRANT_COUNT_BLOCK = 'grant_count';
export const GRANT_COUNT_INPUT = 'count';
export const EDIT_PARAMS_BLOCK = 'edit_params';
export const EDIT_PARAMS_INPUT = 'params';
export const EDIT_REASON_BLOCK = 'edit_reason';
export const EDIT_REASON_INPUT = 'reason';

const buttonValueSchema = z.object({ action_id: z.string().min(1).max(100), payload_hash: z.string().min(1).max(128) });
export type ButtonValue = z.infer<typeof buttonValueSchema>;

/** The value carried by the buttons: which action, and which payload the human was shown. */
export function buttonValue(action: { id: string; payloadHash: string }): string {
  return JSON.stringify({ action_id: action.id, payload_hash: action.payloadHash });
}

function parseJson<T>(schema: z.ZodType<T>, value: string | undefined): T | null {
  if (!value) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export function parseButtonValue(value: string | undefined): ButtonValue | null {
  return parseJson(buttonValueSchema, value);
}

/** What a decision modal remembers (private_metadata): the button's value and where to answer the human. */
const modalMetadataSchema = buttonValueSchema.extend({ channel: z.string().max(40).nullable(), message_ts: z.string().max(40).nullable() });
export type ModalMetadata = z.infer<typeof modalMetadataSchema>;

export function modalMetadata(m: ModalMetadata): string {
  return JSON.stringify(m);
}

export function parseModalMetadata(value: string | undefined): ModalMetadata | null {
  return parseJson(modalMetadataSchema, value);
}
