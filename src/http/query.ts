import type { z } from 'zod';
import { Problem } from '../lib/errors';

/**
 * Parses a query string with its zod schema. Every route answers a malformed query parameter the same way:
 * 400 `invalid-request` with every violation in `errors` (docs/errors.md). Bodies are 422; queries are part
 * of the request line, not a document the client submitted.
 */
export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const errors = parsed.error.issues.map((i) => ({ path: i.path.join('.') || '(query)', message: i.message, code: i.code }));
  throw new Problem('invalid-request', errors.map((e) => `query ${e.path}: ${e.message}`).join('; '), { extensions: { errors } });
}
