import type { ActionRow } from '../db/schema';

/** The parts of a pending action's stored escalation (policy's normalised `escalation`) that approvals use. */
export type StoredEscalation = {
  via: string | null;
  highRisk: boolean;
  escalateTo: { via: string; afterSeconds: number } | null;
};

/** Characters of the payload hash a human must type to approve a high-risk action. */
export const HASH_CONFIRM_LENGTH = 8;

/** Reads `actions.escalation` defensively: it is JSON written by intake from the policy decision. */
export function storedEscalation(action: Pick<ActionRow, 'escalation' | 'approverGroup'>): StoredEscalation {
  const e = (action.escalation ?? {}) as Record<string, unknown>;
  const to = e.escalate_to as Record<string, unknown> | null | undefined;
  const escalateTo =
    to && typeof to.via === 'string' && typeof to.after_seconds === 'number' ? { via: to.via, afterSeconds: to.after_seconds } : null;
  return { via: action.approverGroup ?? null, highRisk: e.high_risk === true, escalateTo };
}

/** The approver groups that may decide now: the rule's `via`, plus `escalate_to.via` once the request was escalated. */
export function decidingGroups(action: Pick<ActionRow, 'escalation' | 'approverGroup' | 'escalatedAt'>): string[] {
  const e = storedEscalation(action);
  const groups = e.via ? [e.via] : [];
  if (action.escalatedAt && e.escalateTo && !groups.includes(e.escalateTo.via)) groups.push(e.escalateTo.via);
  return groups;
}

/** Whether `typed` is an acceptable confirmation of `payloadHash`: at least HASH_CONFIRM_LENGTH leading characters. */
export function confirmsHash(typed: string | null | undefined, payloadHash: string): boolean {
  const t = (typed ?? '').trim().toLowerCase();
  return t.length >= HASH_CONFIRM_LENGTH && payloadHash.toLowerCase().startsWith(t);
}
