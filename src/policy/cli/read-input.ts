import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { PolicyInput } from '../contract.ts';
import type { PolicyCliIo } from './io.ts';

/**
 * The input file of `eval`/`explain`. Not strict on purpose: a recorded `/v1/actions` request body
 * (with idempotency_key, justification, …) can be passed as it is; only the fields policy reads are kept.
 */
const facts = z.record(z.string(), z.unknown());
const cliInputSchema = z.object({
  action_class: z.string(),
  /** The agent's claims, as in a request body: shown and checked against the facts, never read by a condition. */
  context: facts.optional(),
  params: facts.optional(),
  plan: facts.nullable().optional(),
  agent: facts.optional(),
  requester: facts.nullable().optional(),
  usage: facts.optional(),
  now: z
    .string()
    .refine((text) => !Number.isNaN(new Date(text).getTime()), 'now must be an ISO 8601 time')
    .transform((text) => new Date(text))
    .optional(),
});

export async function readPolicyInput(source: string, io: PolicyCliIo): Promise<{ ok: true; input: PolicyInput } | { ok: false; message: string }> {
  let text: string;
  try {
    text = source === '-' ? await io.readStdin() : await readFile(source, 'utf8');
  } catch (error) {
    return { ok: false, message: `cannot read input ${source}: ${(error as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, message: `input ${source} is not JSON: ${(error as Error).message}` };
  }
  const parsed = cliInputSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    return { ok: false, message: `input ${source} is not a policy input:\n  ${problems.join('\n  ')}` };
  }
  return { ok: true, input: parsed.data };
}
