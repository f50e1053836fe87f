import { z } from 'zod';

/** action_ids of the card's buttons and callback_ids of our modals: the contract between blocks and listeners. */
export const APPROVE_ACTION_ID = 'countersign_approve';
/** Approve on a high-risk card: opens the hash-confirmation modal instead of deciding at once. */
export const APPROVE_CONFIRM_ACTION_ID = 'countersign_approve_confirm';
export const DENY_ACTION_ID = 'countersign_deny';
export const VIEW_PAYLOAD_ACTION_ID = 'countersign_view_payload';
export const DECISION_BLOCK_ID = 'countersign_decision';

export const DENY_VIEW_ID = 'countersign_deny_reason';
export const CONFIRM_VIEW_ID = 'countersign_confirm_hash';
export const PAYLOAD_VIEW_ID = 'countersign_payload';
/** A modal that only informs (a refusal replacing a decision form). */
export const NOTICE_VIEW_ID = 'countersign_notice';

export const DENY_REASON_BLOCK = 'deny_reason';
export const DENY_REASON_INPUT = 'reason';
export const CONFIRM_HASH_BLOCK = 'confirm_hash';
export const CONFIRM_HASH_INPUT = 'hash_prefix';

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
