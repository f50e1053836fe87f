import { z } from 'zod';
import { decisionNameSchema } from '../contract.ts';
import { parseGlob } from '../glob.ts';
import { parseTemplate } from '../template.ts';
import { conditionSchema } from './conditions.ts';
import { escalationFileSchema } from './escalation.ts';
import { coded } from './issue-codes.ts';

const globSchema = z.string().superRefine((text, ctx) => {
  const parsed = parseGlob(text);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message, params: coded('invalid_glob') });
});

const reasoningSchema = z
  .string()
  .min(1, 'reasoning must not be empty: it is what approvers and agents read')
  .superRefine((text, ctx) => {
    const parsed = parseTemplate(text);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message, params: coded('invalid_template') });
  });

export const ruleSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'rule ids are lowercase letters, digits, "-", "_" and ".", starting with a letter or digit')
      .max(128),
    description: z.string().optional(),
    applies_to: z.strictObject({
      action_class: z.union(
        [globSchema.transform((glob) => [glob]), z.array(globSchema).min(1, 'list at least one action class')],
        { error: 'action_class is a glob or a list of globs, e.g. [external_automation.job.run]' },
      ),
    }),
    conditions: z.array(conditionSchema).optional(),
    decision: decisionNameSchema,
    escalation: escalationFileSchema.optional(),
    /** Without a validated human behind the request (on_behalf_of), this rule denies instead. */
    requires_requester: z.boolean().optional(),
    reasoning: reasoningSchema,
  })
  .superRefine((rule, ctx) => {
    if (rule.decision === 'escalate' && !rule.escalation) {
      ctx.addIssue({
        code: 'custom',
        path: ['decision'],
        message: 'an escalate rule needs escalation.via (the approver group to ask)',
        params: coded('missing_via'),
      });
    }
    if (rule.decision !== 'escalate' && rule.escalation) {
      ctx.addIssue({
        code: 'custom',
        path: ['escalation'],
        message: `escalation is only meaningful on decision: escalate (this rule says ${rule.decision})`,
        params: coded('escalation_not_allowed'),
      });
    }
  });
export type Rule = z.infer<typeof ruleSchema>;
