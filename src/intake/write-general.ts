import type { Principal } from '../auth/agents';
import type { ExecutorConfig } from '../config/file-config';
import { appendEvents } from '../audit/append';
import { findRecentPreview, requestPreview } from '../contracts/dry-run';
import { drawBudgets, type BudgetSubject } from '../controls/budgets';
import { assertAgentActive } from '../controls/kill-switch';
import { enforceRateLimit } from '../controls/rate-limit';
import { auditRefusal } from '../controls/refusals';
import { execRows } from '../db/exec';
import type { Prepared } from '../executor/prepare';
import { answerDuplicate, findByIdempotencyKey, replayOrConflict } from './idempotency';
import { actionRow, evidenceForCreation, insertActionSql, signedResponse, type ActionDraft } from './record';
import type { IntakeDeps, IntakeResponse } from './types';

/**
 * Every action but the batched allow path: idempotency → rate limit → (dry run: the executor's preview) →
 * one transaction with the kill-switch check, the row, its budget reservations and its evidence.
 * `limited` carries the rate-limit headers when an earlier step (prepare) already asked the limiter.
 */
export async function writeGeneral(
  deps: IntakeDeps,
  principal: Principal,
  executor: ExecutorConfig,
  draft: ActionDraft,
  prepared: Prepared | null,
  budgetSubject: BudgetSubject,
  limited?: Record<string, string>,
): Promise<IntakeResponse> {
  const { agent } = principal;
  const { req, planned, id } = draft;
  let rateHeaders = limited;
  if (!rateHeaders) {
    const existing = await findByIdempotencyKey(deps.db, agent.id, req.idempotency_key);
    if (existing) return replayOrConflict(existing, draft.requestHash);
    rateHeaders = await enforceRateLimit(deps.rateLimiter, agent);
  }

  const refused = auditRefusal(deps.db, { agentId: agent.id, correlationId: draft.correlationId, actionClass: req.action_class, idempotencyKey: req.idempotency_key });
  // A dry run asks the executor for its preview when policy would not deny it; nothing is queued.
  let preview: unknown = null;
  if (planned.status === 'previewed' && planned.decision.decision !== 'deny') {
    await drawBudgets(deps.db, deps.config, budgetSubject, id, 'check').catch(refused);
    // An executor that prepares but has no dry run: its prepare step already said what would happen.
    preview = prepared && !executor.supports_dry_run
      ? { preview: prepared.preview ?? null, plan: prepared.plan }
      : await requestPreview(executor, {
          action_id: id,
          action_class: req.action_class,
          params: req.params,
          payload_hash: draft.hash,
          idempotency_key: id,
          agent_idempotency_key: req.idempotency_key,
          correlation_id: draft.correlationId,
        });
  } else if (planned.status === 'pending_approval') {
    // The approval card shows what a recent dry run of exactly this payload said would change.
    preview = await findRecentPreview(deps.db, agent.id, draft.hash);
  }
  const row = actionRow({ ...draft, preview });
  const response = await signedResponse(deps.db, deps.receipts, row);

  const inserted = await deps.db
    .transaction(async (tx) => {
      await assertAgentActive(tx, agent);
      const [created] = await execRows<{ id: string }>(tx, insertActionSql(row));
      if (!created) return false;
      // Budgets: reserved for accepted actions (settled by transitionAction), only checked for the rest.
      await drawBudgets(tx, deps.config, budgetSubject, id, planned.status === 'approved' || planned.status === 'pending_approval' ? 'reserve' : 'check');
      await appendEvents(tx, evidenceForCreation(row, agent, req, planned.decision, prepared));
      return true;
    })
    .catch(refused);
  if (!inserted) return answerDuplicate(deps.db, agent.id, req.idempotency_key, draft.requestHash);
  deps.onDecision?.(planned.decision.decision, planned.status);
  if (planned.status === 'approved') deps.afterCommit?.actionApproved?.(id);
  if (planned.status === 'pending_approval') deps.afterCommit?.approvalRequested?.(id);
  return { ...response, replayed: false, headers: rateHeaders };
}
