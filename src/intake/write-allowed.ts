import type { Agent, Principal } from '../auth/agents';
import { enforceRateLimit, refundRateLimit } from '../controls/rate-limit';
import { isProblem } from '../lib/errors';
import type { Prepared } from '../executor/prepare';
import type { IntakeWriter } from './batch-writer';
import { answerDuplicate, findByIdempotencyKey, replayOrConflict } from './idempotency';
import { actionRow, asCreated, creationReceiptFields, evidenceForCreation, storedResponse, type ActionDraft } from './record';
import type { IntakeDeps, IntakeResponse, Recheck } from './types';

/**
 * The allow path: the action is recorded already `queued`, with its evidence (requested, decided, approved,
 * queued), by the group-commit writer, and enqueued once its batch has committed. Idempotency is settled by
 * the write itself (a taken key inserts nothing), so the only look-up is for replays; a request refused by
 * the rate limit still gets its replay when one exists.
 */
export async function writeAllowed(
  deps: IntakeDeps,
  writer: IntakeWriter,
  principal: Principal,
  draft: ActionDraft,
  prepared: Prepared | null,
  /** Rate-limit headers when the limiter was already asked (before a prepare step); otherwise it is asked here. */
  limited?: Record<string, string>,
): Promise<IntakeResponse | Recheck> {
  const { agent } = principal;
  const { req } = draft;
  // The limiter's round trip runs while the records are built (CPU work); nothing is written before it answers.
  const limit = limited ? Promise.resolve({ headers: limited }) : askLimiter(deps, agent);
  const row = actionRow({ ...draft, planned: { status: 'queued', decision: draft.planned.decision } });
  // The receipt is signed by the writer with the rest of its batch, and put into this response before it is stored.
  const created = asCreated(row);
  const response = storedResponse(row, created);
  const receipt = deps.receipts ? await creationReceiptFields(deps.db, row, undefined, created) : undefined;
  const events = evidenceForCreation(row, agent, req, draft.planned.decision, prepared);
  const answer = await limit;
  if ('error' in answer) {
    const err = answer.error;
    if (!isProblem(err) || err.code !== 'rate-limited') throw err;
    // A replay is answered even when the agent is over its limit.
    const existing = await findByIdempotencyKey(deps.db, agent.id, req.idempotency_key);
    if (existing) return replayOrConflict(existing, draft.requestHash);
    throw err;
  }
  const outcome = await writer.write({
    row,
    events,
    credentials: { agentId: agent.id, tokenId: principal.tokenId, scopes: agent.scopes, rateLimitPerMinute: agent.rateLimitPerMinute },
    receipt,
  });
  if (outcome === 'stale-credentials') {
    await refundRateLimit(deps.rateLimiter, agent); // the next attempt takes its own
    return { recheck: 'changed' };
  }
  if (outcome === 'duplicate') {
    // A replay is not counted: its slot goes back whatever the look-up answers.
    const headers = await refundRateLimit(deps.rateLimiter, agent);
    return { ...(await answerDuplicate(deps.db, agent.id, req.idempotency_key, draft.requestHash)), headers };
  }
  deps.onDecision?.(draft.planned.decision.decision, 'queued');
  return { ...response, replayed: false, headers: answer.headers };
}

function askLimiter(deps: IntakeDeps, agent: Agent): Promise<{ headers: Record<string, string> } | { error: unknown }> {
  return enforceRateLimit(deps.rateLimiter, agent).then(
    (headers) => ({ headers }),
    (error: unknown) => ({ error }),
  );
}
