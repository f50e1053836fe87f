import { z } from 'zod';

/** Action classes are dot-separated lowercase segments; anything else is refused before policy runs. */
export const ACTION_CLASS_PATTERN = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;

export const decisionNameSchema = z.enum(['allow', 'deny', 'escalate']);
export type DecisionName = z.infer<typeof decisionNameSchema>;

const factObject = z.record(z.string(), z.unknown());

/**
 * What a decision reads: facts, each from a named source (docs/policy.md, "Facts and their sources").
 * `context` is the agent's claim: kept so a disagreement with a fact can be caught, never read by a condition.
 */
export const policyInputSchema = z.object({
  action_class: z.string(),
  /** The payload that is hashed and executed (validated by the tool contract). */
  params: factObject.optional(),
  /** The `facts` the executor's prepare step returned; absent when the executor does not prepare. */
  plan: factObject.nullable().optional(),
  /** The agent as the server knows it: id, name, owner, tags. */
  agent: factObject.optional(),
  /** The validated human the agent acts for: id, groups (approver groups they belong to), is_owner. */
  requester: factObject.nullable().optional(),
  /** The agent's usage so far: actions_today, actions_last_hour, budgets.<name>.{used,max,remaining}, task. */
  usage: factObject.optional(),
  /** The agent's claim. Never read by a condition; a claim that contradicts a fact fails closed. */
  context: factObject.optional(),
  now: z.date().optional(),
});
export type PolicyInput = z.infer<typeof policyInputSchema>;

/** The normalised escalation a decision carries; every default is already applied. */
export const escalationSchema = z.object({
  requires: z.string(),
  via: z.string(),
  approvals: z.number().int().min(1),
  timeout_seconds: z.number().int().positive(),
  on_timeout: z.literal('deny'),
  escalate_to: z.object({ via: z.string(), after_seconds: z.number().int().positive() }).nullable(),
  high_risk: z.boolean(),
  release_window_seconds: z.number().int().positive(),
  /** Present when the rule allows standing grants ("Approve this and similar"). */
  standing: z
    .object({
      max_duration_seconds: z.number().int().positive(),
      max_count: z.number().int().positive(),
      variable: z.record(z.string(), z.record(z.string(), z.unknown())),
    })
    .optional(),
});
export type Escalation = z.infer<typeof escalationSchema>;

/** A claim in `context` that contradicts the fact of the same name: the request fails closed. */
export const claimConflictSchema = z.object({ claim: z.string(), fact: z.string(), claimed: z.unknown(), actual: z.unknown() });
export type ClaimConflict = z.infer<typeof claimConflictSchema>;

export const decisionSchema = z.object({
  decision: decisionNameSchema,
  rule_id: z.string().nullable(),
  reasoning: z.string(),
  escalation: escalationSchema.nullable(),
  policy_version: z.string(),
  /** Present when the decision is a deny because the agent's claims contradict the facts. */
  claim_conflicts: z.array(claimConflictSchema).optional(),
});
export type Decision = z.infer<typeof decisionSchema>;
