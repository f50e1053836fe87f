import { z } from 'zod';

/** Action classes are dot-separated lowercase segments; anything else is refused before policy runs. */
export const ACTION_CLASS_PATTERN = /^[a-z0-9_]+(\.[a-z0-9_]+)+$/;

export const decisionNameSchema = z.enum(['allow', 'deny', 'escalate']);
export type DecisionName = z.infer<typeof decisionNameSchema>;

export const policyInputSchema = z.object({
  action_class: z.string(),
  context: z.record(z.string(), z.unknown()),
  params: z.record(z.string(), z.unknown()).optional(),
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
});
export type Escalation = z.infer<typeof escalationSchema>;

export const decisionSchema = z.object({
  decision: decisionNameSchema,
  rule_id: z.string().nullable(),
  reasoning: z.string(),
  escalation: escalationSchema.nullable(),
  policy_version: z.string(),
});
export type Decision = z.infer<typeof decisionSchema>;
