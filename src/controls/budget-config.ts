import { z } from 'zod';
import { isValidActionClassGlob } from '../lib/action-class-glob';

/**
 * Where a summed or matched value is read: `params.<field>` (the payload that runs) or `plan.<field>` (the facts
 * of the executor's prepare step), dots for nested objects. Never `context`: that is the agent's claim, and a
 * budget an agent could talk its way under would be no budget (docs/agent-controls.md).
 */
export const BUDGET_PATH_RE = /^(params|plan)(\.[A-Za-z0-9_]+)+$/;
const BUDGET_PATH_MESSAGE = 'must be params.<field> or plan.<field> (context is the agent\'s claim and cannot be counted)';

/**
 * One budget from countersign.yaml. Without `sum` every accepted action counts 1 (invocations);
 * with `sum` the numeric value at that path counts (e.g. refunds: `params.amount`, max 500 per day).
 */
export const budgetSchema = z
  .strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'budget names are lowercase letters, digits, _ and -'),
  /**
   * `task`: per task the server opened (POST /v1/tasks), for as long as it lives; an action without a task counts
   * against the agent's one task-less budget of the UTC day. `agent_day`: per agent per UTC day.
   */
  per: z.enum(['task', 'agent_day']),
  max: z.number().positive(),
  sum: z.string().regex(BUDGET_PATH_RE, BUDGET_PATH_MESSAGE).optional(),
  /** Action-class globs this budget applies to; all classes when omitted. */
  action_classes: z
    .array(z.string().refine(isValidActionClassGlob, 'must be an action-class glob like payments.refund.*'))
    .min(1)
    .optional(),
  /** Agent names this budget applies to; all agents when omitted. */
  agents: z.array(z.string().min(1)).min(1).optional(),
  /** Only actions whose values at these paths equal the given ones count (e.g. `params.currency: EUR`). */
  when: z.record(z.string().regex(BUDGET_PATH_RE, BUDGET_PATH_MESSAGE), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** Shown to the agent and the operators with an exhausted budget, e.g. "EUR". */
  unit: z.string().max(32).optional(),
  /**
   * What a request that would exceed the budget gets: `refuse` (429 budget-exhausted, the default) or `escalate`:
   * it waits for the approver group `via`, with the budget's state on the card; an approval admits that one
   * action (an exception record), and raises nothing.
   */
  on_exceed: z.enum(['refuse', 'escalate']).optional(),
  via: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'an approver group name').optional(),
})
  .superRefine((b, ctx) => {
    if (b.on_exceed === 'escalate' && !b.via) ctx.addIssue({ code: 'custom', path: ['via'], message: 'on_exceed: escalate needs via: the approver group that may admit an overrun' });
    if (b.on_exceed !== 'escalate' && b.via) ctx.addIssue({ code: 'custom', path: ['via'], message: 'via is only meaningful with on_exceed: escalate' });
  });

export const budgetsSchema = z
  .array(budgetSchema)
  .default([])
  .refine((list) => new Set(list.map((b) => b.name)).size === list.length, 'budget names must be unique');

export type BudgetConfig = z.infer<typeof budgetSchema>;
