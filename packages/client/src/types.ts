/**
 * The API's shapes, written out here so the client depends on nothing of the server (no zod, no schemas).
 * `test/client/contract.test.ts` keeps them in step with the server's OpenAPI document.
 */

/** The states of an action (docs/lifecycle.md), in the order the server documents them. */
export const ACTION_STATUSES = [
  'previewed',
  'denied',
  'pending_approval',
  'approved',
  'queued',
  'executing',
  'committed',
  'failed',
  'expired',
  'cancelled',
  'refused',
  'plan_drift',
] as const;
export type ActionStatus = (typeof ACTION_STATUSES)[number];

/** Statuses an action never leaves. */
export const TERMINAL_STATUSES: readonly ActionStatus[] = ['previewed', 'denied', 'expired', 'cancelled', 'refused', 'committed', 'failed', 'plan_drift'];

/** The closed set of problem codes the server answers with (docs/errors.md). */
export type ProblemCode =
  | 'invalid-request'
  | 'validation-failed'
  | 'invalid-action-class'
  | 'contract-violation'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'unauthenticated'
  | 'agent-suspended'
  | 'out-of-scope'
  | 'forbidden'
  | 'policy-denied'
  | 'not-found'
  | 'method-not-allowed'
  | 'idempotency-conflict'
  | 'idempotency-in-progress'
  | 'invalid-state'
  | 'rate-limited'
  | 'budget-exhausted'
  | 'no-executor'
  | 'dry-run-unsupported'
  | 'dry-run-rejected'
  | 'executor-unavailable'
  | 'prepare-unavailable'
  | 'prepare-refused'
  | 'prepare-malformed'
  | 'unknown-requester'
  | 'directory-unavailable'
  | 'task-not-open'
  | 'task-limit'
  | 'too-many-long-polls'
  | 'service-unavailable'
  | 'internal';

export type Decision = {
  decision: 'allow' | 'deny' | 'escalate';
  rule_id: string | null;
  reasoning: string;
  policy_version: string;
  escalation: Record<string, unknown> | null;
  /** The agent's claims that contradicted the facts: why the request was denied. */
  claim_conflicts?: Array<{ claim: string; fact: string; claimed: unknown; actual: unknown }>;
};

/** What a receipt attests (docs/audit.md, "Receipts"); signed as RFC 8785 canonical JSON. */
export type ReceiptPayload = {
  typ: 'countersign.receipt';
  v: 1;
  action_id: string;
  correlation_id: string;
  agent_id: string;
  action_class: string;
  payload_hash: string;
  /** The executor's prepared plan hash, when it prepared the action. */
  plan_hash?: string;
  decision: string;
  rule_id: string | null;
  policy_version: string;
  status: string;
  approvers: string[];
  result_hash: string | null;
  issued_at: string;
  kid: string;
};

/**
 * `batch` when the receipt was signed with others (docs/audit.md, "Batch-signed receipts"): the signature is then
 * over the batch's Merkle root, and `path` leads from this receipt's leaf to it.
 */
export type SignedReceipt = {
  payload: ReceiptPayload;
  alg: 'EdDSA';
  kid: string;
  signature: string;
  batch?: { root: string; path: Array<{ side: 'left' | 'right'; hash: string }> };
};

/** An action as the API shows it (`POST /v1/actions` 201, `GET /v1/actions/{id}`). */
export type ActionView = {
  id: string;
  status: ActionStatus;
  action_class: string;
  agent_id: string;
  correlation_id: string;
  idempotency_key: string;
  dry_run: boolean;
  decision: Decision;
  payload_hash: string;
  /** SHA-256 of the executor's prepared plan; the approval binds to it and release compares it. */
  plan_hash?: string;
  /** What the executor's prepare step said: the facts policy read, and its preview. */
  prepared?: { facts?: Record<string, unknown>; preview: string | null; plan_hash: string | null };
  task_id?: string;
  on_behalf_of?: string;
  /** Set when an approver edited the payload before approving; `params` is what was approved and runs. */
  edited?: {
    by: string;
    at: string;
    reason: string | null;
    original_params: Record<string, unknown>;
    original_payload_hash: string;
    params: Record<string, unknown>;
    changes: Array<Record<string, unknown>>;
  };
  /** The standing grant that approved this action. */
  grant_id?: string;
  /** For a rollback filed from Slack: the action it undoes. */
  rollback_of?: string;
  /** The budgets it would exceed (`on_exceed: escalate`): why a human was asked. */
  budget_overrun?: Array<Record<string, unknown>>;
  executor: string | null;
  approvals_required: number;
  expires_at: string | null;
  preview?: unknown;
  result?: unknown;
  failure?: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
  receipt?: SignedReceipt;
};

/** The body of `POST /v1/actions`. */
export type CreateActionRequest = {
  action_class: string;
  params?: Record<string, unknown>;
  context?: Record<string, unknown>;
  dry_run?: boolean;
  idempotency_key: string;
  correlation_id?: string;
  justification?: string;
  /** The human the agent acts for (Slack user id); they may never approve their own request. */
  on_behalf_of?: string;
  /** A task opened with POST /v1/tasks; per-task budgets count against it. */
  task_id?: string;
};
