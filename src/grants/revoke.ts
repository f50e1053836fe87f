import type { ApproverCheck } from '../approvals/decide';
import type { Db } from '../db/client';
import type { StandingGrantRow } from '../db/schema';
import { endGrant, getGrant } from './store';

export type RevokeOutcome =
  | { kind: 'revoked'; grant: StandingGrantRow }
  | { kind: 'refused'; reason: 'not-found' | 'not-authorized' | 'not-human' | 'already-ended'; detail: string; grant: StandingGrantRow | null };

/**
 * Ends a grant at a person's request. In Slack only a member of the grant's approver group may revoke it (any of
 * them, not only those who gave it: revoking only ever removes approval); the CLI and the admin API pass no
 * check (their callers are operators). Evidence: `grant.ended` with reason `revoked`, on the card's action.
 */
export async function revokeGrant(db: Db, grantId: string, actor: string, opts: { approverStanding?: ApproverCheck; slackUserId?: string; why?: string | null } = {}): Promise<RevokeOutcome> {
  const grant = await getGrant(db, grantId);
  if (!grant) return { kind: 'refused', reason: 'not-found', detail: 'no such grant', grant: null };
  if (opts.approverStanding && opts.slackUserId) {
    const standing = await opts.approverStanding([grant.approverGroup], opts.slackUserId);
    if (standing === 'not-human') return { kind: 'refused', reason: 'not-human', detail: 'bots and agents cannot revoke grants', grant };
    if (standing !== true && standing !== 'approver') {
      return { kind: 'refused', reason: 'not-authorized', detail: `only members of ${grant.approverGroup} may revoke this grant`, grant };
    }
  }
  const ended = await db.transaction((tx) => endGrant(tx, grant.id, 'revoked', actor, opts.why ?? null));
  if (!ended) return { kind: 'refused', reason: 'already-ended', detail: `this grant already ended (${grant.endedReason ?? 'used up or expired'})`, grant };
  return { kind: 'revoked', grant: ended };
}
