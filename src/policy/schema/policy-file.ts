import { z } from 'zod';
import { ruleSchema } from './rule.ts';

/**
 * One policy file. Top-level keys are a closed list so a typo is an error, not a silently ignored
 * field; free text belongs in description/doctrinal_basis, anything structured in `metadata`.
 */
export const policyFileSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'policy names are lowercase letters, digits, "-", "_" and "."'),
  version: z.string({ message: 'version must be a string: quote it, e.g. version: "1.0"' }).min(1),
  description: z.string().optional(),
  doctrinal_basis: z.string().optional(),
  owner: z.string().optional(),
  tags: z.array(z.string()).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  rules: z.array(ruleSchema),
});
export type PolicyFile = z.infer<typeof policyFileSchema>;

export const KNOWN_TOP_LEVEL_KEYS = Object.keys(policyFileSchema.shape);
