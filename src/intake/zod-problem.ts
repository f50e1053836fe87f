import type { z } from 'zod';
import { Problem } from '../lib/errors';

/** Every violation listed, with its path, so an agent can fix them all at once. */
export function zodProblem(error: z.ZodError, code: 'validation-failed' | 'contract-violation' = 'validation-failed'): Problem {
  const errors = error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message, code: i.code }));
  return new Problem(code, errors.map((e) => `${e.path}: ${e.message}`).join('; '), { extensions: { errors } });
}
