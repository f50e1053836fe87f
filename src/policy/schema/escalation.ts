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
  })
  .superRefine((escalation, ctx) => {
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
