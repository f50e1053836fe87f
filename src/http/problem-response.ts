import type { ErrorRequestHandler, Response } from 'express';
import { Problem, isProblem } from '../lib/errors';
import { logger } from '../lib/logger';

export function sendProblem(res: Response, problem: Problem, instance?: string): void {
  for (const [k, v] of Object.entries(problem.headers)) res.setHeader(k, v);
  if (problem.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(problem.retryAfterSeconds));
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem.toJSON(instance)));
}

/** Postgres connection failures (server down, restarting) are a 503 the client may retry, not a 500. */
function isDatabaseUnavailable(e: unknown): boolean {
  const err = e as { code?: string; cause?: { code?: string } } | null;
  const code = err?.code ?? err?.cause?.code;
  return (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'CONNECTION_CLOSED' ||
    code === 'CONNECTION_ENDED' ||
    code === 'CONNECT_TIMEOUT' ||
    code === 'CONNECTION_DESTROYED' ||
    code === '57P01' || // admin_shutdown
    code === '57P03' // cannot_connect_now
  );
}

/** The one place errors become application/problem+json. */
export const problemHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const e = error as { type?: string; status?: number };
  let problem: Problem;
  if (isProblem(error)) problem = error;
  else if (e?.type === 'entity.too.large') problem = new Problem('payload-too-large', 'the request body exceeds 256 KiB');
  else if (e?.type === 'entity.parse.failed') problem = new Problem('invalid-request', 'the request body is not valid JSON');
  else if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
    problem = new Problem('unsupported-media-type', 'the request body must be UTF-8 JSON');
  else if (isDatabaseUnavailable(error))
    problem = new Problem('service-unavailable', 'the database is unavailable; nothing was recorded', { retryAfterSeconds: 2 });
  else {
    logger.error({ err: error, path: req.path }, 'unhandled error');
    problem = new Problem('internal', 'an internal error occurred; nothing was recorded unless the action says so');
  }
  sendProblem(res, problem, req.originalUrl);
};
