import type { ErrorRequestHandler, Response } from 'express';
import { Problem, isProblem } from '../lib/errors';
import { logger } from '../lib/logger';
import { dependencyUnavailableIn, type Dependency } from '../lib/dependency-error';

export function sendProblem(res: Response, problem: Problem, instance?: string): void {
  for (const [k, v] of Object.entries(problem.headers)) res.setHeader(k, v);
  if (problem.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(problem.retryAfterSeconds));
  res.status(problem.status).type('application/problem+json').send(JSON.stringify(problem.toJSON(instance)));
}

/** Postgres connection failures (server down, restarting) are a 503 the client may retry, not a 500. */
function isDatabaseUnavailable(e: unknown): boolean {
  if (dependencyUnavailableIn(e)) return dependencyUnavailableIn(e)!.dependency === 'postgres';
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

/**
 * ioredis refusing a command while disconnected (a client without an offline queue, or one whose retries
 * ran out). Only Redis-backed admin and Slack paths reach here: the intake maps its limiter's errors itself.
 */
function isRedisUnavailable(e: unknown): boolean {
  if (dependencyUnavailableIn(e)) return dependencyUnavailableIn(e)!.dependency === 'redis';
  const err = e as { name?: string; message?: string } | null;
  return err?.name === 'MaxRetriesPerRequestError' || /^(Connection is closed|Stream isn't writeable)/.test(err?.message ?? '');
}

/** How soon a client should try again during an outage: the service may be back within a second. */
const OUTAGE_RETRY_AFTER_SECONDS = 1;

const unavailable = (dependency: Dependency, what: string) =>
  new Problem('service-unavailable', `${what} is unavailable; nothing was recorded`, {
    retryAfterSeconds: OUTAGE_RETRY_AFTER_SECONDS,
    extensions: { dependency },
  });

/** The one place errors become application/problem+json. */
export const problemHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const e = error as { type?: string; status?: number };
  let problem: Problem;
  if (isProblem(error)) problem = error;
  else if (e?.type === 'entity.too.large') problem = new Problem('payload-too-large', 'the request body exceeds 256 KiB');
  else if (e?.type === 'entity.parse.failed') problem = new Problem('invalid-request', 'the request body is not valid JSON');
  else if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
    problem = new Problem('unsupported-media-type', 'the request body must be UTF-8 JSON');
  else if (isDatabaseUnavailable(error)) problem = unavailable('postgres', 'the database');
  else if (isRedisUnavailable(error)) problem = unavailable('redis', 'Redis');
  else {
    logger.error({ err: error, path: req.path }, 'unhandled error');
    problem = new Problem('internal', 'an internal error occurred; nothing was recorded unless the action says so');
  }
  sendProblem(res, problem, req.originalUrl);
};
