import { z } from 'zod';
import { parseDuration, formatDuration, MAX_DURATION_SECONDS } from '../duration.ts';
import { coded } from './issue-codes.ts';

export const DEFAULT_TIMEOUT_SECONDS = 3600;
export const DEFAULT_RELEASE_WINDOW_SECONDS = 3600;
export const DEFAULT_REQUIRES = 'human_approval';

const duration = z.string().transform((text, ctx) => {
  const seconds = parseDuration(text);
  if (seconds === null) {
    ctx.addIssue({
      code: 'custom',
      message: `bad duration "${text}": write e.g. "15m", "1h", "1h30m", "2d" (more than 0, at most ${formatDuration(MAX_DURATION_SECONDS)})`,
      params: coded('invalid_duration'),
    });
    return z.NEVER;
  }
  return seconds;
});

/** Approver groups are the keys of `approver_groups` in countersign.yaml. */
export const approverGroupSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'approver group names are letters, digits, "-", "_" and "."');

/**
 * The bounds a variable field of a standing grant must stay within (docs/policy.md, "Standing grants").
 * `{}` means any value; `min`/`max` bound a number, `max_length` a string or a list, `in` lists the values allowed.
 */
export const variableBoundsSchema = z.strictObject({
  min: z.number().finite().optional(),
  max: z.number().finite().optional(),
  max_length: z.number().int().min(0).optional(),
  in: z.array(z.union([z.string(), z.number(), z.boolean()])).min(1).max(100).optional(),
});
export type VariableBounds = z.infer<typeof variableBoundsSchema>;

/** A field of `params` (dots for nested objects), named without the `params.` prefix or with it. */
const variableFieldSchema = z
  .string()
  .regex(/^(params\.)?[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/, 'variable fields are fields of params, e.g. name or params.target.region')
  .refine((f) => !/^(context|plan|agent|requester|usage|time)\./.test(f), 'variable fields are fields of params (write params.<field>); a grant never varies facts or claims')
  .transform((f) => f.replace(/^params\./, ''));

/**
 * "Approve this and similar": approvers may let later requests of the same agent and action class that differ
 * only in `variable` fields (each within its bounds) be approved by their approval, up to `max_count` uses
 * within `max_duration`. Never on a high-risk rule.
 */
export const standingFileSchema = z.strictObject({
  max_duration: duration,
  max_count: z.number().int().min(1).max(1000),
  variable: z.record(variableFieldSchema, variableBoundsSchema).default({}),
});

export const escalationFileSchema = z
  .strictObject({
    requires: z.string().min(1).optional(),
    via: approverGroupSchema,
    approvals: z.number().int().min(1).max(10).optional(),
    timeout: duration.optional(),
    on_timeout: z.literal('deny', { message: 'on_timeout can only be "deny": an unanswered escalation never turns into an allow' }).optional(),
    escalate_to: z.strictObject({ via: approverGroupSchema, after: duration }).optional(),
    high_risk: z.boolean().optional(),
    release_window: duration.optional(),
    standing: standingFileSchema.optional(),
  })
  .superRefine((escalation, ctx) => {
    if (escalation.standing && escalation.high_risk) {
      ctx.addIssue({
        code: 'custom',
        path: ['standing'],
        message: 'a high-risk rule never allows standing grants: each of its actions needs its own confirmed approval',
        params: coded('standing_not_allowed'),
      });
    }
    const timeout = escalation.timeout ?? DEFAULT_TIMEOUT_SECONDS;
    if (escalation.escalate_to && escalation.escalate_to.after >= timeout) {
      ctx.addIssue({
        code: 'custom',
        path: ['escalate_to', 'after'],
        message: `escalate_to.after (${formatDuration(escalation.escalate_to.after)}) must be shorter than the timeout (${formatDuration(timeout)}), or the second group is never asked`,
        params: coded('invalid_duration'),
      });
    }
  });
export type EscalationFile = z.infer<typeof escalationFileSchema>;
