import { z } from 'zod';
import { ACTION_CLASS_RE } from '../lib/action-class-glob';
import { actionStatus } from '../approvals/status';
import { signedReceipt } from '../receipts/receipt';
import { normaliseSlackUserId } from '../lib/slack-ids';
import { findJsonFlaw } from '../lib/json-guard';

const jsonObject = z.record(z.string(), z.unknown());

/** POST /v1/actions. Strict: an unknown field is an error, not silently dropped. */
export const createActionRequest = z.strictObject({
  action_class: z.string().min(1).max(200),
  params: jsonObject.default({}),
  context: jsonObject.default({}),
  dry_run: z.boolean().default(false),
  idempotency_key: z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces'),
  correlation_id: z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces').optional(),
  justification: z.string().max(4000).default(''),
  /**
   * The human the agent acts for: a Slack user id (`U…`/`W…`; `<@U…>` and any case accepted, stored
   * normalised), checked against the Slack directory. They may never approve their own request.
   */
  on_behalf_of: z
    .string()
    .max(64)
    .transform((raw, ctx) => {
      const id = normaliseSlackUserId(raw);
      if (!id) {
        ctx.addIssue({ code: 'custom', message: 'must be a Slack user id (U…/W…), e.g. U024BE7LH' });
        return z.NEVER;
      }
      return id;
    })
    .optional(),
  /** A task the server opened (POST /v1/tasks); its per-task budgets count this action. */
  task_id: z.string().min(1).max(100).optional(),
});
export type CreateActionRequest = z.infer<typeof createActionRequest>;

/**
 * What the intake parses with: the request, refused when something in it cannot be stored or walked safely
 * (src/lib/json-guard.ts): nesting deeper than MAX_JSON_DEPTH, a NUL character (PostgreSQL stores neither
 * text nor jsonb with U+0000), a lone surrogate, a non-finite number. Such a request could only fail later,
 * as a 500; it is a 422 here, with the path. The HTTP and MCP routes check the raw body the same way before
 * this runs; this covers every other way in. The check is linear: no path is copied per level.
 * (A separate schema: the MCP tool extends the plain object, and a refined one cannot be.)
 */
export const createActionRequestChecked = z
  .unknown()
  .superRefine((raw, ctx) => {
    const flaw = findJsonFlaw(raw);
    if (flaw) ctx.addIssue({ code: 'custom', path: flaw.path, message: flaw.message, fatal: true });
  })
  .pipe(createActionRequest);

export const decisionView = z.object({
  decision: z.enum(['allow', 'deny', 'escalate']),
  rule_id: z.string().nullable(),
  reasoning: z.string(),
  policy_version: z.string(),
  escalation: z.record(z.string(), z.unknown()).nullable(),
  /** The agent's claims that contradicted the facts: why the request was denied. */
  claim_conflicts: z.array(z.object({ claim: z.string(), fact: z.string(), claimed: z.unknown(), actual: z.unknown() })).optional(),
});

export const actionView = z.object({
  id: z.string(),
  status: actionStatus,
  action_class: z.string(),
  agent_id: z.string(),
  correlation_id: z.string(),
  idempotency_key: z.string(),
  dry_run: z.boolean(),
  decision: decisionView,
  payload_hash: z.string(),
  /** SHA-256 of the executor's prepared plan; the approval binds to it (through payload_hash) and release compares it. */
  plan_hash: z.string().optional(),
  /** What the executor's prepare step said: the facts policy read, and its preview for people. */
  prepared: z.object({ facts: z.record(z.string(), z.unknown()).optional(), preview: z.string().nullable(), plan_hash: z.string().nullable() }).optional(),
  /** The server-issued task this action counts against. */
  task_id: z.string().optional(),
  /** The validated human the agent acts for (normalised Slack user id). */
  on_behalf_of: z.string().optional(),
  /**
   * Set when an approver edited the payload before approving: who, when, why, what the agent asked and the
   * payload that is approved (and that the executor receives).
   */
  edited: z
    .object({
      by: z.string(),
      at: z.string(),
      reason: z.string().nullable(),
      original_params: z.record(z.string(), z.unknown()),
      original_payload_hash: z.string(),
      params: z.record(z.string(), z.unknown()),
      changes: z.array(z.record(z.string(), z.unknown())),
    })
    .optional(),
  /** The standing grant that approved this action ("Approve this and similar" on an earlier card). */
  grant_id: z.string().optional(),
  /** For a rollback filed from Slack: the action it undoes. */
  rollback_of: z.string().optional(),
  /** The budgets it would exceed (`on_exceed: escalate`): why a human was asked. */
  budget_overrun: z.array(z.record(z.string(), z.unknown())).optional(),
  executor: z.string().nullable(),
  approvals_required: z.number(),
  expires_at: z.string().nullable(),
  preview: z.unknown().optional(),
  result: z.unknown().optional(),
  failure: z.record(z.string(), z.unknown()).nullable().optional(),
  created_at: z.string(),
  updated_at: z.string(),
  /** Ed25519-signed receipt of the decision and outcome (docs/audit.md, "Receipts"). */
  receipt: signedReceipt.optional(),
});
export type ActionView = z.infer<typeof actionView>;

/** GET /v1/actions/:id. With `wait`, a long poll: held until the status differs from `status` (default: the current one). */
export const getActionQuery = z.object({
  wait: z.coerce.number().int().min(0).max(60).optional().describe('seconds to hold the request until the status changes (0-60)'),
  status: actionStatus.optional().describe('the status the client last saw; the wait ends as soon as the action is in another'),
});
export type GetActionQuery = z.infer<typeof getActionQuery>;

export function isValidActionClass(value: string): boolean {
  return ACTION_CLASS_RE.test(value);
}
