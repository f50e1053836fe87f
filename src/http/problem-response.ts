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
    // Class 08, connection exception: also how PgBouncer refuses a query it could not place on a server
    // connection (08P01 query_wait_timeout, server login failing) before anything was sent to PostgreSQL.
    (typeof code === 'string' && /^08[0-9A-Z]{3}$/.test(code)) ||
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
 * PostgreSQL's class 22 ("data exception": a value out of range, malformed, or in no encoding it takes) is
 * a value from the request that no check caught: the same request fails the same way, so it is bad input
 * (400, not retryable), never a retryable 500. The cause names the error code only (src/lib/logger.ts).
 */
function isDataException(e: unknown): boolean {
  const err = e as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = typeof err?.code === 'string' ? err.code : err?.cause?.code;
  return typeof code === 'string' && /^22[0-9A-Z]{3}$/.test(code);
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

/**
 * The one place errors become problems: expected ones are already a Problem; body-parser's, the database's and
 * Redis's are mapped to theirs; anything else is a bug, logged, and answered `internal`.
 */
export function problemFor(error: unknown, path: string): Problem {
  const e = error as { type?: string; status?: number };
  if (isProblem(error)) return error;
  if (e?.type === 'entity.too.large') return new Problem('payload-too-large', 'the request body exceeds 256 KiB');
  if (e?.type === 'entity.parse.failed') return new Problem('invalid-request', 'the request body is not valid JSON');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new Problem('unsupported-media-type', 'the request body must be UTF-8 JSON');
  if (isDataException(error)) {
    logger.warn({ err: error, path }, 'the database refused a value from the request');
    return new Problem('invalid-request', 'a value in the request is out of range or malformed; nothing was recorded');
  }
  if (isDatabaseUnavailable(error)) return unavailable('postgres', 'the database');
  if (isRedisUnavailable(error)) return unavailable('redis', 'Redis');
  logger.error({ err: error, path }, 'unhandled error');
  return new Problem('internal', 'an internal error occurred; nothing was recorded unless the action says so');
}

/** The one place errors become application/problem+json. */
export const problemHandler: ErrorRequestHandler = (error, req, res, _next) => {
  sendProblem(res, problemFor(error, req.path), req.originalUrl);
};
