import type { RequestHandler } from 'express';
import { Problem } from '../lib/errors';
import { findJsonFlaw } from '../lib/json-guard';

// Control characters (NUL first among them) have no business in a path segment: PostgreSQL refuses NUL in
// text outright, and the others only ever arrive from probes.
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Refuses, for every route at once, a path or query string that could only fail later as a 500: a path
 * segment that is not valid percent-encoded UTF-8 or holds a control character, a query key or value with
 * a NUL character or a lone surrogate. 400 invalid-request, not retryable (docs/errors.md). Routes still
 * validate what their parameters mean; this is the floor under all of them.
 */
export function refuseHostileUrl(): RequestHandler {
  return (req, _res, next) => {
    for (const segment of req.path.split('/')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        return next(new Problem('invalid-request', 'the path is not valid percent-encoded UTF-8'));
      }
      if (CONTROL.test(decoded)) return next(new Problem('invalid-request', 'the path must not contain control characters (such as NUL)'));
    }
    let query: unknown;
    try {
      query = req.query;
    } catch {
      return next(new Problem('invalid-request', 'the query string is malformed'));
    }
    const flaw = findJsonFlaw(query, 8);
    if (flaw) {
      const name = flaw.path.join('.') || '(query)';
      return next(new Problem('invalid-request', `query parameter ${name}: ${flaw.message}`, { extensions: { errors: [{ path: name, message: flaw.message, code: flaw.code }] } }));
    }
    next();
  };
}
