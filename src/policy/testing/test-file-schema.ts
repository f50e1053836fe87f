import { z } from 'zod';
import { decisionNameSchema } from '../contract.ts';

const instant = z.union([
  z.date(),
  z.string().transform((text, ctx) => {
    const date = new Date(text);
    if (Number.isNaN(date.getTime())) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not an ISO 8601 time such as 2025-03-03T10:00:00Z` });
      return z.NEVER;
    }
    return date;
  }),
]);

const parameters = z.record(z.string(), z.unknown());

export const testCaseSchema = z.strictObject({
  name: z.string().min(1),
  input: z.strictObject({
    action_class: z.string(),
    context: parameters.default({}),
    params: parameters.optional(),
    now: instant.optional(),
  }),
  expect: z.strictObject({
    decision: decisionNameSchema,
    /** null expects "no rule matched". */
    rule_id: z.string().nullable(),
    reasoning: z.string().optional(),
    reasoning_contains: z.string().optional(),
    via: z.string().optional(),
  }),
});
export type TestCase = z.infer<typeof testCaseSchema>;

/** A `*.test.yaml` file kept beside the policies it tests. */
export const testFileSchema = z.strictObject({
  description: z.string().optional(),
  /** Evaluation time for cases that do not give their own, so time windows test deterministically. */
  now: instant.optional(),
  cases: z.array(testCaseSchema).min(1, 'a test file needs at least one case'),
});
export type TestFile = z.infer<typeof testFileSchema>;
