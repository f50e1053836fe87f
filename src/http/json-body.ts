import express, { type RequestHandler } from 'express';
import { Problem } from '../lib/errors';
import { MAX_JSON_DEPTH, findJsonFlaw, jsonTextDepth, type JsonFlaw } from '../lib/json-guard';

export function flawProblem(flaw: JsonFlaw): Problem {
  const path = flaw.path.join('.') || '(body)';
  return new Problem('validation-failed', `${path}: ${flaw.message}`, { extensions: { errors: [{ path, message: flaw.message, code: flaw.code }] } });
}

/**
 * The JSON body parser every API route uses, with the hostile-input checks (src/lib/json-guard.ts) at the
 * door: nesting past MAX_JSON_DEPTH is refused from the raw text before JSON.parse runs, and NUL characters,
 * lone surrogates and non-finite numbers right after it, all as 422 with the path, before authentication's
 * consumers, rate limits or any recursive walk see the body.
 */
export function jsonBody(opts: { limit: string; strict?: boolean }): RequestHandler[] {
  const parse = express.json({
    limit: opts.limit,
    strict: opts.strict ?? true,
    type: () => true,
    verify: (_req, _res, buf, encoding) => {
      const text = buf.toString(encoding === 'utf-16le' || encoding === 'utf16le' ? 'utf16le' : 'utf8');
      if (jsonTextDepth(text) > MAX_JSON_DEPTH) {
        // body-parser keeps a thrown error's own status (422), and the problem handler answers it.
        throw flawProblem({ path: [], code: 'too_deep', message: `nests deeper than ${MAX_JSON_DEPTH} levels of objects and arrays` });
      }
    },
  });
  const check: RequestHandler = (req, _res, next) => {
    const flaw = findJsonFlaw(req.body);
    next(flaw ? flawProblem(flaw) : undefined);
  };
  return [parse, check];
}
