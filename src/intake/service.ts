import { authenticateAgentByTokenId, type Principal } from '../auth/agents';
import type { BudgetSubject } from '../controls/budgets';
import { budgetClaims } from '../controls/budgets';
import { enforceRateLimit } from '../controls/rate-limit';
import { prepareForIntake, type Prepared } from '../executor/prepare';
import { canonicalHash } from '../lib/canonical-json';
import { Problem } from '../lib/errors';
import { newId } from '../lib/ids';
import { requireOpenTask } from '../tasks';
import { admitAgent, parseRequest, recordIntakeRefusal, routeToExecutor } from './admission';
import { gatherFacts, policyInput } from './facts';
import { findByIdempotencyKey, replayOrConflict } from './idempotency';
import { payloadHash } from './payload-hash';
import { planAction } from './plan-status';
import { establishRequester } from './requester';
import type { IntakeDeps, IntakeResponse, Recheck } from './types';
import { writeAllowed } from './write-allowed';
import { writeGeneral } from './write-general';
import { shadowDecide } from '../policy-rollout/shadow';

export type { IntakeDeps, IntakeResponse, RequesterDirectory } from './types';
export type { Principal };

/**
 * Turns an agent's request into an action. A principal from the credential cache is trusted only where the
 * write re-checks it (the allow path); elsewhere, and whenever the write finds the credentials changed, the
 * attempt runs again with credentials read from the database.
 */
export async function createAction(deps: IntakeDeps, principal: Principal, raw: unknown, opts: CreateOptions = {}): Promise<IntakeResponse> {
  let current = principal;
  for (let round = 0; ; round++) {
    const result = await attemptCreate(deps, current, raw, opts);
    if (!('recheck' in result)) return result;
    if (result.recheck === 'changed') deps.credentials?.forget(current.tokenId);
    if (round === 2) {
      throw new Problem('service-unavailable', "the agent's credentials kept changing while this request was processed; retry it", {
        retryAfterSeconds: 1,
      });
    }
    const fresh = await authenticateAgentByTokenId(deps.db, current.tokenId);
    if (!fresh) {
      throw new Problem('unauthenticated', 'the token is invalid, expired or revoked', { headers: { 'WWW-Authenticate': 'Bearer realm="countersign"' } });
    }
    current = fresh;
  }
}

/**
 * The intake's order of checks, one step each (docs/agent-controls.md, "Order of checks"):
 * request → agent → executor and contract → requester → task → prepare → facts → policy → write.
 * Nothing the decision rests on comes from the agent's `context`: facts come from the payload, the executor's
 * prepare step and the server (docs/policy.md, "Facts and their sources").
 */
/** What only the server files: a rollback names the action it undoes (src/rollback). */
export type CreateOptions = { rollbackOf?: string };

async function attemptCreate(deps: IntakeDeps, principal: Principal, raw: unknown, opts: CreateOptions): Promise<IntakeResponse | Recheck> {
  const req = parseRequest(raw);
  if ((await admitAgent(deps.db, principal, req)) === 'recheck') return { recheck: 'cached' };
  const executor = routeToExecutor(deps.config, req);
  // A step that calls out (the executor's prepare) runs on credentials read from the database.
  if (principal.verifiedBy === 'cache' && executor.prepare_url) return { recheck: 'cached' };
  const { agent } = principal;
  const refused = (step: string) => recordIntakeRefusal(deps.db, principal, req, step);
  const requester = await establishRequester(deps.directory, agent, req.on_behalf_of).catch(refused('requester'));
  const task = req.task_id ? await requireOpenTask(deps.db, agent, req.task_id).catch(refused('task')) : null;

  const id = newId('action');
  const correlationId = req.correlation_id ?? id;
  const requestHash = canonicalHash(req);
  let prepared: Prepared | null = null;
  let limited: Record<string, string> | undefined;
  if (executor.prepare_url) {
    // Replays and the rate limit come before the executor is asked anything.
    const existing = await findByIdempotencyKey(deps.db, agent.id, req.idempotency_key);
    if (existing) return replayOrConflict(existing, requestHash);
    limited = await enforceRateLimit(deps.rateLimiter, agent);
    const unpreparedHash = payloadHash({ action_class: req.action_class, params: req.params, context: req.context, executor: executor.name });
    prepared = await prepareForIntake(executor, {
      action_id: id,
      action_class: req.action_class,
      params: req.params,
      payload_hash: unpreparedHash,
      idempotency_key: id,
      agent_idempotency_key: req.idempotency_key,
      correlation_id: correlationId,
    }).catch(refused('prepare'));
  }

  const bundle = deps.policy.current();
  const facts = await gatherFacts(deps.db, bundle, deps.config, { agent, requester, prepared, taskId: task?.id ?? null });
  const decision = bundle.evaluate(policyInput(req, facts));
  if (decision.claim_conflicts) facts.claim_conflicts = decision.claim_conflicts;
  const planned = planAction(deps.config, req.dry_run, decision);

  const hash = payloadHash({ action_class: req.action_class, params: req.params, context: req.context, executor: executor.name, plan_hash: prepared?.plan_hash });
  const draft = {
    id,
    agentId: agent.id,
    req,
    executor: executor.name,
    requestHash,
    correlationId,
    hash,
    planned,
    preview: null,
    facts,
    prepared,
    taskId: task?.id ?? null,
    rollbackOf: opts.rollbackOf ?? null,
  };
  const budgetSubject: BudgetSubject = { agentId: agent.id, agentName: agent.name, actionClass: req.action_class, taskId: draft.taskId, params: req.params, plan: facts.plan };
  // Rollbacks take the general path: it records the link to the action they undo.
  const allowPath = !!deps.writer && !opts.rollbackOf && planned.status === 'approved' && budgetClaims(deps.config, budgetSubject).length === 0;
  // A candidate bundle in shadow decides the same facts too (src/policy-rollout); once per request: a cached
  // round that is re-run is skipped.
  if (allowPath || principal.verifiedBy !== 'cache') shadowDecide(deps, policyInput(req, facts), decision);
  if (allowPath) return writeAllowed(deps, deps.writer!, principal, draft, prepared, limited);
  if (principal.verifiedBy === 'cache') return { recheck: 'cached' };
  return writeGeneral(deps, principal, executor, draft, prepared, budgetSubject, limited);
}
