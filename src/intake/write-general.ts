import type { Principal } from '../auth/agents';
import type { ExecutorConfig } from '../config/file-config';
import { appendEvents } from '../audit/append';
import { findRecentPreview, requestPreview } from '../contracts/dry-run';
import { budgetOverruns, drawBudgets, type BudgetSubject } from '../controls/budgets';
import { isProblem } from '../lib/errors';
import { describeOverrun, overrunEvidence, overrunPlan } from './budget-overrun';
import { assertAgentActive } from '../controls/kill-switch';
import { enforceRateLimit } from '../controls/rate-limit';
import { auditRefusal } from '../controls/refusals';
import { execRows } from '../db/exec';
import type { Prepared } from '../executor/prepare';
import { answerDuplicate, findByIdempotencyKey, replayOrConflict } from './idempotency';
import { actionRow, evidenceForCreation, insertActionSql, signedResponse, type ActionDraft } from './record';
import type { IntakeDeps, IntakeResponse } from './types';
import type { StandingGrantRow } from '../db/schema';
import { GrantTaken, grantCandidate, recordGrantUse } from './grant-use';

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
  // Two things may change the plan before the write: a budget that asks instead of refusing (on_exceed: escalate)
  // sends the request to a human; a standing grant may approve a request the policy escalates. Both are read
  // first and made to hold in the transaction; when a concurrent request takes the room or the grant's last use
  // first, the transaction rolls back and this request is planned again.
  const usedUp: string[] = [];
  let row: ReturnType<typeof actionRow>;
  let response: Awaited<ReturnType<typeof signedResponse>>;
  let inserted: boolean;
  let grant: StandingGrantRow | null;
  for (let round = 0; ; round++) {
    const accepted = planned.status === 'approved' || planned.status === 'pending_approval';
    const overruns = (accepted ? await budgetOverruns(deps.db, deps.config, budgetSubject) : []).map((o) => ({ ...o, detail: describeOverrun(o) }));
    const plannedNow = overruns.length ? overrunPlan(planned, overruns) : planned;
    draft.facts.budget_overrun = overruns.length ? overruns : undefined;
    // A grant never admits an overrun: that needs its own human answer.
    grant = overruns.length ? null : await grantCandidate(deps, { agentId: agent.id, actionClass: req.action_class, executor: draft.executor, params: req.params, planned }, usedUp);
    const final = grant ? { status: 'approved' as const, decision: planned.decision } : plannedNow;
    row = actionRow({ ...draft, planned: final, preview, grantId: grant?.id ?? null });
    response = await signedResponse(deps.db, deps.receipts, row, grant?.approvers);
    const r = row;
    const g = grant;
    const overrunBudgets = new Set(overruns.map((o) => o.budget));
    const outcome = await deps.db
      .transaction(async (tx) => {
        await assertAgentActive(tx, agent);
        const [created] = await execRows<{ id: string }>(tx, insertActionSql(r));
        if (!created) return false;
        // Budgets: reserved for accepted actions (settled by transitionAction), only checked for the rest.
        await drawBudgets(tx, deps.config, budgetSubject, id, r.status === 'approved' || r.status === 'pending_approval' ? 'reserve' : 'check', overrunBudgets);
        const events = evidenceForCreation(r, agent, req, final.decision, prepared);
        if (overruns.length) events.push(...overrunEvidence(r, overruns));
        if (g) events.push(...(await recordGrantUse(tx, r, g)));
        await appendEvents(tx, events);
        return true;
      })
      .catch((err: unknown) => {
        if (round < 4 && err instanceof GrantTaken) {
          usedUp.push(err.grantId);
          return 'again' as const;
        }
        if (round < 4 && isProblem(err) && err.code === 'budget-exhausted' && err.extensions.on_exceed === 'escalate') return 'again' as const;
        return refused(err);
      });
    if (outcome === 'again') continue;
    inserted = outcome;
    break;
  }
  if (!inserted) return answerDuplicate(deps.db, agent.id, req.idempotency_key, draft.requestHash);
  deps.onDecision?.(planned.decision.decision, row.status as typeof planned.status);
  if (row.status === 'approved') deps.afterCommit?.actionApproved?.(id);
  if (row.status === 'pending_approval') deps.afterCommit?.approvalRequested?.(id);
  if (grant) deps.afterCommit?.grantUsed?.(grant.originActionId);
  return { ...response, replayed: false, headers: rateHeaders };
}
