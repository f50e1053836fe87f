import { and, desc, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { actions } from '../db/schema';
import { Problem, isProblem } from '../lib/errors';
import { toActionView } from '../intake/action-view';
import { createActionRequest } from '../intake/schemas';
import { createAction, type IntakeDeps, type Principal } from '../intake/service';
import type { LongPollDeps } from '../intake/wait';

/**
 * The request body of POST /v1/actions, idempotency key required: a model that retries a tool call (a lost
 * answer, a restarted host) must send the same key again to get the same action, so the server never invents
 * one (an invented key would turn every retry into a second action).
 */
export const requestActionInput = createActionRequest.extend({
  idempotency_key: createActionRequest.shape.idempotency_key.describe(
    'a key you choose for this request (printable ASCII, ≤ 255); send the same key when retrying the same request, a new one for a new request',
  ),
});

export const getActionStatusInput = z.object({
  // A pattern, not zod's startsWith: that becomes `format: "starts_with"`, which no JSON Schema validator knows.
  action_id: z.string().regex(/^act_[0-9a-z]+$/).describe('the id request_action returned (act_…)'),
  wait_seconds: z.number().int().min(0).max(30).optional().describe('hold the call up to this long until the status changes'),
});

export const listPendingInput = z.object({
  limit: z.number().int().min(1).max(100).optional().describe('newest first; default 20'),
});

function json(value: unknown, isError = false): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(value, null, 2) }],
    structuredContent: value as Record<string, unknown>,
    ...(isError ? { isError: true } : {}),
  };
}

/** Expected failures are tool errors the model can read (a problem body), not protocol errors. */
function problemResult(e: unknown): CallToolResult {
  if (isProblem(e)) return json(e.toJSON(), true);
  throw e;
}

/**
 * The three tools, bound to one authenticated agent. They call the same service as the /v1 routes, so scope,
 * rate limits, budgets, policy and evidence apply exactly as over HTTP.
 */
export function registerTools(server: McpServer, deps: IntakeDeps & LongPollDeps, principal: Principal, signal: AbortSignal): void {
  const agentId = principal.agent.id;

  server.registerTool(
    'request_action',
    {
      title: 'Request an action',
      description:
        'Propose an action for policy and, when needed, human approval in Slack. Returns the action (status queued when policy allowed it, pending_approval or previewed) or a problem (policy-denied, out-of-scope, rate-limited…). Choose an idempotency_key per request and send the same one when retrying it: a retry then returns the same action instead of creating another.',
      inputSchema: requestActionInput,
    },
    async (args) => {
      try {
        const result = await createAction(deps, principal, args);
        return json(result.body, result.status >= 400);
      } catch (e) {
        return problemResult(e);
      }
    },
  );

  server.registerTool(
    'get_action_status',
    {
      title: 'Get an action’s status',
      description: 'Read one of your actions. With wait_seconds, waits until its status changes (long poll).',
      inputSchema: getActionStatusInput,
      annotations: { readOnlyHint: true },
    },
    async ({ action_id, wait_seconds }) => {
      try {
        let [row] = await deps.db.select().from(actions).where(eq(actions.id, action_id)).limit(1);
        if (!row || row.agentId !== agentId) throw new Problem('not-found', 'no such action');
        if (wait_seconds) row = await deps.longPolls.wait(row, { agentId, since: row.status, waitMs: wait_seconds * 1000, signal });
        return json(toActionView(row));
      } catch (e) {
        return problemResult(e);
      }
    },
  );

  server.registerTool(
    'list_pending_approvals',
    {
      title: 'List your actions awaiting approval',
      description: 'Your actions that wait for a human answer in Slack, newest first.',
      inputSchema: listPendingInput,
      annotations: { readOnlyHint: true },
    },
    async ({ limit }) => {
      const rows = await deps.db
        .select()
        .from(actions)
        .where(and(eq(actions.agentId, agentId), eq(actions.status, 'pending_approval')))
        .orderBy(desc(actions.createdAt))
        .limit(limit ?? 20);
      return json({ actions: rows.map(toActionView) });
    },
  );
}
