import { and, eq, sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client';
import { preparedOn } from '../db/prepared';
import { jsonInsertSql } from '../db/json-insert';
import { execRows } from '../db/exec';
import { actions, commitOutbox, type ActionRow } from '../db/schema';
import type { FileConfig } from '../config/file-config';
import { authenticateAgentByTokenId, isInScope, type Agent, type Principal } from '../auth/agents';
import type { CredentialCache } from '../auth/credential-cache';
import { appendEvents, type AuditEventInput } from '../audit/append';
import { resolveExecutor } from '../executor/registry';
import { Problem, isProblem } from '../lib/errors';
import { newId } from '../lib/ids';
import { canonicalHash } from '../lib/canonical-json';
import type { Decision, PolicyBundle } from '../policy';
import type { ActionStatus } from '../approvals/status';
import { toActionView } from './action-view';
import { payloadHash } from './payload-hash';
import { createActionRequestChecked, isValidActionClass, type CreateActionRequest } from './schemas';
import { zodProblem } from './zod-problem';
import { enforceContract } from '../contracts/validate';
import { findRecentPreview, requestPreview } from '../contracts/dry-run';
import { enforceRateLimit, refundRateLimit, type RateLimiter } from '../controls/rate-limit';
import { budgetClaims, drawBudgets } from '../controls/budgets';
import { auditRefusal } from '../controls/refusals';
import { assertAgentActive } from '../controls/kill-switch';
import type { ReceiptSigner } from '../receipts';
import type { IntakeWriter } from './batch-writer';
import { shadowDecide, type ShadowEvaluator } from '../policy-rollout/shadow';

export type IntakeDeps = {
  db: Db;
  policy: { current(): PolicyBundle };
  config: FileConfig;
  /** Per-agent request rate limit (Redis); without it requests are not rate limited. */
  rateLimiter?: RateLimiter;
  /** Called after the creating transaction commits; wired to the outbox relay and card poster. */
  afterCommit?: { actionApproved?(actionId: string): void; approvalRequested?(actionId: string): void };
  /** Told once per created action, after its transaction committed (metrics). */
  onDecision?(decision: string, status: ActionStatus): void;
  /** Aborted when the server shuts down, so long polls return at once. */
  shutdown?: AbortSignal;
  /** Signs the receipt returned with every decision (src/receipts). */
  receipts?: ReceiptSigner;
  /**
   * The allow path's group-commit writer (src/intake/batch-writer.ts). Without it allowed actions take the
   * general path (transaction + outbox relay), as do allowed actions that draw on a budget.
   */
  writer?: IntakeWriter;
  /** The route's credential cache: told about tokens whose credentials turned out to have changed. */
  credentials?: CredentialCache;
  /** A candidate policy bundle deciding in shadow (docs/rollout.md); its decisions never count. */
  shadow?: ShadowEvaluator;
};

export type IntakeResponse = { status: number; body: Record<string, unknown>; replayed: boolean; headers?: Record<string, string> };

export type { Principal };

/** Said by one attempt when it must run again with credentials read from the database. */
type Recheck = { recheck: 'cached' | 'changed' };

/**
 * Turns an agent's request into an action: validate → scope → executor → policy → idempotency → rate limit →
 * record. A principal from the credential cache is trusted only where the write re-checks it (the allow
 * path); elsewhere, and whenever the write finds the credentials changed, the attempt runs again with
 * credentials read from the database.
 */
export async function createAction(deps: IntakeDeps, principal: Principal, raw: unknown): Promise<IntakeResponse> {
  let current = principal;
  for (let round = 0; ; round++) {
    const result = await attemptCreate(deps, current, raw);
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

async function attemptCreate(deps: IntakeDeps, principal: Principal, raw: unknown): Promise<IntakeResponse | Recheck> {
  const cached = principal.verifiedBy === 'cache';
  const parsed = createActionRequestChecked.safeParse(raw);
  if (!parsed.success) throw zodProblem(parsed.error);
  const req = parsed.data;
  const { agent } = principal;

  if (!isValidActionClass(req.action_class)) {
    throw new Problem(
      'invalid-action-class',
      `action_class "${req.action_class.slice(0, 200)}" must match ^[a-z0-9_]+(\\.[a-z0-9_]+)+$`,
    );
  }
  // A refusal is only ever made on credentials read from the database.
  if (cached && (agent.status !== 'active' || !isInScope(agent, req.action_class))) return { recheck: 'cached' };
  if (agent.status !== 'active') throw new Problem('agent-suspended', `agent ${agent.name} is suspended`);
  if (!isInScope(agent, req.action_class)) {
    await appendEvents(deps.db, [
      {
        type: 'request.refused',
        actor: `agent:${agent.id}`,
        agentId: agent.id,
        correlationId: req.correlation_id ?? null,
        data: { reason: 'out-of-scope', action_class: req.action_class, scopes: agent.scopes, idempotency_key: req.idempotency_key },
      },
    ]);
    throw new Problem('out-of-scope', `agent ${agent.name} may not request ${req.action_class}`, {
      extensions: { action_class: req.action_class, scopes: agent.scopes },
    });
  }

  const executor = resolveExecutor(deps.config, req.action_class);
  if (!executor) throw new Problem('no-executor', `no executor is configured for ${req.action_class}`);
  enforceContract(executor, req.action_class, req.params);

  const requestHash = canonicalHash(req);
  const bundle = deps.policy.current();
  const decision = bundle.evaluate({ action_class: req.action_class, context: req.context, params: req.params });
  const planned = planAction(deps.config, req, decision);
  const id = newId('action');
  const correlationId = req.correlation_id ?? id;
  const hash = payloadHash({ action_class: req.action_class, params: req.params, context: req.context, executor: executor.name });
  const budgetSubject = { agentId: agent.id, agentName: agent.name, actionClass: req.action_class, correlationId, params: req.params, context: req.context };
  const allowPath = !!deps.writer && planned.status === 'approved' && budgetClaims(deps.config, budgetSubject).length === 0;
  // A candidate bundle in shadow decides too (src/policy-rollout); once per request: a cached round that is re-run is skipped.
  if (allowPath || !cached) shadowDecide(deps, { action_class: req.action_class, context: req.context, params: req.params }, decision);
  if (allowPath) {
    return createQueued(deps, deps.writer!, principal, { req, requestHash, hash, executor: executor.name, decision: planned.decision, id, correlationId });
  }
  if (cached) return { recheck: 'cached' };

  const existing = await findByIdempotencyKey(deps.db, agent.id, req.idempotency_key);
  if (existing) return replayOrConflict(existing, requestHash);
  const rateHeaders = await enforceRateLimit(deps.rateLimiter, agent);

  const refused = auditRefusal(deps.db, { agentId: agent.id, correlationId, actionClass: req.action_class, idempotencyKey: req.idempotency_key });
  // A dry run asks the executor for its preview when policy would not deny it; nothing is queued.
  let preview: unknown = null;
  if (planned.status === 'previewed' && planned.decision.decision !== 'deny') {
    await drawBudgets(deps.db, deps.config, budgetSubject, id, 'check').catch(refused);
    preview = await requestPreview(executor, {
      action_id: id,
      action_class: req.action_class,
      params: req.params,
      payload_hash: hash,
      idempotency_key: id,
      agent_idempotency_key: req.idempotency_key,
      correlation_id: correlationId,
    });
  } else if (planned.status === 'pending_approval') {
    // The approval card shows what a recent dry run of exactly this payload said would change.
    preview = await findRecentPreview(deps.db, agent.id, hash);
  }
  const row = actionRow({ id, agentId: agent.id, req, executor: executor.name, requestHash, correlationId, hash, planned, preview });
  const response = await signedResponse(deps, row);

  const inserted = await deps.db.transaction(async (tx) => {
    await assertAgentActive(tx, agent);
    const [created] = await execRows<{ id: string }>(tx, insertActionSql(row));
    if (!created) return false;
    // Budgets: reserved for accepted actions (settled by transitionAction), only checked for the rest.
    await drawBudgets(tx, deps.config, budgetSubject, id, planned.status === 'approved' || planned.status === 'pending_approval' ? 'reserve' : 'check');
    await appendEvents(tx, evidenceForCreation(row, agent, req, planned.decision));
    return true;
  }).catch(refused);
  if (!inserted) return answerDuplicate(deps.db, agent.id, req.idempotency_key, requestHash);
  deps.onDecision?.(planned.decision.decision, planned.status);
  if (planned.status === 'approved') deps.afterCommit?.actionApproved?.(id);
  if (planned.status === 'pending_approval') deps.afterCommit?.approvalRequested?.(id);
  return { ...response, replayed: false, headers: rateHeaders };
}

type QueuedInput = {
  req: CreateActionRequest;
  requestHash: string;
  /** The payload hash approvals bind to. */
  hash: string;
  executor: string;
  decision: Decision;
  id: string;
  correlationId: string;
};

/**
 * The allow path: the action is recorded already `queued`, with its evidence (requested, decided, approved,
 * queued), by the group-commit writer, and enqueued once its batch has committed. Idempotency is settled by
 * the write itself (a taken key inserts nothing), so the only look-up is for replays; a request refused by
 * the rate limit still gets its replay when one exists.
 */
async function createQueued(deps: IntakeDeps, writer: IntakeWriter, principal: Principal, q: QueuedInput): Promise<IntakeResponse | Recheck> {
  const { agent } = principal;
  const { req } = q;
  // The limiter's round trip runs while the records are built (CPU work); nothing is written before it answers.
  const limit = enforceRateLimit(deps.rateLimiter, agent).then(
    (headers) => ({ headers }),
    (error: unknown) => ({ error }),
  );
  const planned: Planned = { status: 'queued', decision: q.decision };
  const row = actionRow({ ...q, agentId: agent.id, planned, preview: null });
  const response = await signedResponse(deps, row);
  const events = evidenceForCreation(row, agent, req, q.decision);
  const limited = await limit;
  if ('error' in limited) {
    const err = limited.error;
    if (!isProblem(err) || err.code !== 'rate-limited') throw err;
    // A replay is answered even when the agent is over its limit.
    const existing = await findByIdempotencyKey(deps.db, agent.id, req.idempotency_key);
    if (existing) return replayOrConflict(existing, q.requestHash);
    throw err;
  }
  const rateHeaders = limited.headers;
  const outcome = await writer.write({
    row,
    events,
    credentials: { agentId: agent.id, tokenId: principal.tokenId, scopes: agent.scopes, rateLimitPerMinute: agent.rateLimitPerMinute },
  });
  if (outcome === 'stale-credentials') {
    await refundRateLimit(deps.rateLimiter, agent); // the next attempt takes its own
    return { recheck: 'changed' };
  }
  if (outcome === 'duplicate') {
    // A replay is not counted: its slot goes back whatever the look-up answers.
    const headers = await refundRateLimit(deps.rateLimiter, agent);
    return { ...(await answerDuplicate(deps.db, agent.id, req.idempotency_key, q.requestHash)), headers };
  }
  deps.onDecision?.(q.decision.decision, 'queued');
  return { ...response, replayed: false, headers: rateHeaders };
}

/** The action row as first recorded; `approved` and `queued` rows carry their approval by policy. */
function actionRow(a: {
  id: string;
  agentId: string;
  req: CreateActionRequest;
  executor: string;
  requestHash: string;
  correlationId: string;
  hash: string;
  planned: Planned;
  preview: unknown;
}): typeof actions.$inferInsert {
  const { req, planned } = a;
  const now = new Date();
  const approved = planned.status === 'approved' || planned.status === 'queued';
  return {
    id: a.id,
    agentId: a.agentId,
    actionClass: req.action_class,
    params: req.params,
    context: req.context,
    executor: a.executor,
    dryRun: req.dry_run,
    preview: a.preview,
    idempotencyKey: req.idempotency_key,
    requestHash: a.requestHash,
    correlationId: a.correlationId,
    justification: req.justification,
    onBehalfOf: req.on_behalf_of ?? null,
    payloadHash: a.hash,
    status: planned.status,
    decision: planned.decision.decision,
    ruleId: planned.decision.rule_id,
    reasoning: planned.decision.reasoning,
    policyVersion: planned.decision.policy_version,
    escalation: planned.decision.escalation as Record<string, unknown> | null,
    approverGroup: planned.decision.escalation?.via ?? null,
    approvalsRequired: planned.decision.escalation?.approvals ?? 0,
    expiresAt:
      planned.status === 'pending_approval' && planned.decision.escalation
        ? new Date(now.getTime() + planned.decision.escalation.timeout_seconds * 1000)
        : null,
    approvedAt: approved ? now : null,
    approvedPayloadHash: approved ? a.hash : null,
    createdAt: now,
    updatedAt: now,
  };
}

/**
 * The first response, with its signed receipt, stored on the row: a replay returns the very same bytes,
 * receipt included.
 */
async function signedResponse(deps: IntakeDeps, row: typeof actions.$inferInsert): Promise<{ status: number; body: Record<string, unknown> }> {
  const full = { ...row, preview: row.preview ?? null, result: null, failure: null } as ActionRow;
  const response = responseFor(full);
  if (deps.receipts) {
    const approvers = row.approvedAt ? ['policy'] : [];
    response.body.receipt = await deps.receipts.receiptFor(deps.db, { ...full, preview: null }, approvers);
  }
  row.responseStatus = response.status;
  row.responseBody = response.body;
  return response;
}

/** A concurrent request with the same key won the insert: answer as its replay (or conflict). */
async function answerDuplicate(db: Db, agentId: string, key: string, requestHash: string): Promise<IntakeResponse> {
  const winner = await findByIdempotencyKey(db, agentId, key);
  if (!winner) throw new Problem('idempotency-in-progress', 'a request with this idempotency key is in progress');
  return replayOrConflict(winner, requestHash);
}

/**
 * The action row, and for an approved one its commit intent (outbox row), in one statement: one round trip
 * fewer on the allow path. The row travels as one JSON parameter (src/db/json-insert.ts). Nothing is
 * written when the idempotency key is taken (no row returned): the outbox insert reads only what was created.
 */
function insertActionSql(row: typeof actions.$inferInsert): SQL {
  const insert = jsonInsertSql(actions, [row], sql`on conflict do nothing returning id`);
  if (row.status !== 'approved') return insert;
  return sql`with created as (${insert}), queued as (insert into ${commitOutbox} (${sql.identifier(commitOutbox.actionId.name)}) select id from created) select id from created`;
}

type Planned = { status: ActionStatus; decision: Decision };

function planAction(config: FileConfig, req: CreateActionRequest, decision: Decision): Planned {
  if (decision.decision === 'escalate') {
    const via = decision.escalation?.via;
    if (!via || !config.approver_groups[via]) {
      // An approval nobody can give is a denial: fail closed and say why.
      return {
        status: req.dry_run ? 'previewed' : 'denied',
        decision: {
          ...decision,
          decision: 'deny',
          reasoning: `${decision.reasoning} (approver group "${via ?? '(none)'}" is not configured: failing closed)`,
        },
      };
    }
  }
  if (req.dry_run) return { status: 'previewed', decision };
  const status: ActionStatus =
    decision.decision === 'allow' ? 'approved' : decision.decision === 'escalate' ? 'pending_approval' : 'denied';
  return { status, decision };
}

function evidenceForCreation(
  row: typeof actions.$inferInsert,
  agent: Agent,
  req: CreateActionRequest,
  decision: Decision,
): AuditEventInput[] {
  const base = { actionId: row.id, correlationId: row.correlationId, agentId: row.agentId, policyVersion: decision.policy_version };
  const events: AuditEventInput[] = [
    {
      ...base,
      type: 'action.requested',
      actor: `agent:${agent.id}`,
      data: {
        agent_name: agent.name,
        agent_owner: agent.owner,
        on_behalf_of: req.on_behalf_of ?? null,
        action_class: req.action_class,
        params: req.params,
        context: req.context,
        dry_run: req.dry_run,
        idempotency_key: req.idempotency_key,
        justification: req.justification,
        executor: row.executor,
        payload_hash: row.payloadHash,
      },
    },
    {
      ...base,
      type: 'policy.decided',
      actor: 'system',
      data: {
        decision: decision.decision,
        rule_id: decision.rule_id,
        reasoning: decision.reasoning,
        escalation: decision.escalation,
        // What the decision made of it (an allowed action is recorded `queued` with commit.queued next).
        status: row.status === 'queued' ? 'approved' : row.status,
      },
    },
  ];
  if (row.approvedAt) {
    events.push({ ...base, type: 'action.approved', actor: 'system', data: { by: 'policy', rule_id: decision.rule_id, payload_hash: row.payloadHash } });
  }
  // Recorded queued at once (the allow path): the hand-over to the queue is part of the same write.
  if (row.status === 'queued') events.push({ ...base, type: 'commit.queued', actor: 'system', data: { executor: row.executor } });
  return events;
}

function responseFor(row: ActionRow): { status: number; body: Record<string, unknown> } {
  const view = toActionView(row);
  if (row.status === 'denied') {
    const problem = new Problem('policy-denied', row.reasoning, {
      extensions: { action_id: row.id, status: row.status, decision: view.decision, payload_hash: row.payloadHash, correlation_id: row.correlationId },
    });
    return { status: problem.status, body: problem.toJSON(`/v1/actions/${row.id}`) };
  }
  return { status: 201, body: view as unknown as Record<string, unknown> };
}

/** What a replay needs of an earlier action with the same idempotency key. */
type Replayable = Pick<ActionRow, 'id' | 'idempotencyKey' | 'requestHash' | 'responseStatus' | 'responseBody'>;

async function findByIdempotencyKey(db: Db, agentId: string, key: string): Promise<Replayable | undefined> {
  // Runs on every request: prepared once (src/db/prepared.ts), and only the columns a replay answers with.
  const [row] = await preparedOn(db, 'find_by_idempotency_key', idempotencyLookup).execute({ agentId, key });
  return row;
}

function idempotencyLookup(db: DbOrTx, name: string) {
  return db
    .select({
      id: actions.id,
      idempotencyKey: actions.idempotencyKey,
      requestHash: actions.requestHash,
      responseStatus: actions.responseStatus,
      responseBody: actions.responseBody,
    })
    .from(actions)
    .where(and(eq(actions.agentId, sql.placeholder('agentId')), eq(actions.idempotencyKey, sql.placeholder('key'))))
    .limit(1)
    .prepare(name);
}

function replayOrConflict(existing: Replayable, requestHash: string): IntakeResponse {
  if (existing.requestHash !== requestHash) {
    throw new Problem('idempotency-conflict', `idempotency key "${existing.idempotencyKey}" was used for a different request`, {
      extensions: { action_id: existing.id },
    });
  }
  return { status: existing.responseStatus ?? 201, body: existing.responseBody ?? {}, replayed: true };
}
