import { z } from 'zod';
import { decisionNameSchema, type PolicyInput } from '../contract.ts';

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
  /**
   * The request as facts by source (docs/policy.md). `context` is how cases were written before facts had
   * sources: it states facts, and is read as params (so old cases keep their meaning); the agent's claims,
   * which a condition never reads, are written `claims`.
   */
  input: z
    .strictObject({
      action_class: z.string(),
      context: parameters.optional(),
      params: parameters.optional(),
      plan: parameters.optional(),
      agent: parameters.optional(),
      requester: parameters.nullable().optional(),
      usage: parameters.optional(),
      claims: parameters.optional(),
      now: instant.optional(),
    })
    .transform(({ context, params, claims, ...rest }): PolicyInput => ({
      ...rest,
      params: { ...context, ...params },
      ...(claims ? { context: claims } : {}),
    })),
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
