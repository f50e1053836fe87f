import { z } from 'zod';
import { ACTION_CLASS_RE } from '../lib/action-class-glob';
import { actionStatus } from '../approvals/status';
import { signedReceipt } from '../receipts/receipt';

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
  /** The human the agent acts for (Slack user id); they may never approve their own request. */
  on_behalf_of: z.string().max(64).optional(),
});
export type CreateActionRequest = z.infer<typeof createActionRequest>;

/**
 * What the intake parses with: the request, and no NUL character in any string or key. PostgreSQL stores
 * neither text nor jsonb with U+0000, so such a request could only fail later, as a 500; it is a 422 here,
 * with the path. (A separate schema: the MCP tool extends the plain object, and a refined one cannot be.)
 */
export const createActionRequestChecked = createActionRequest.superRefine((req, ctx) => {
  const path = nulPath(req, []);
  if (path) ctx.addIssue({ code: 'custom', path, message: 'must not contain the NUL character (U+0000)' });
});

function nulPath(value: unknown, path: Array<string | number>): Array<string | number> | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPath(value[i], [...path, i]);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key.includes('\u0000')) return [...path, key];
      const found = nulPath(v, [...path, key]);
      if (found) return found;
    }
  }
  return null;
}

export const decisionView = z.object({
  decision: z.enum(['allow', 'deny', 'escalate']),
  rule_id: z.string().nullable(),
  reasoning: z.string(),
  policy_version: z.string(),
  escalation: z.record(z.string(), z.unknown()).nullable(),
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
