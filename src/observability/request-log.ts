import type { Request, RequestHandler, Response } from 'express';
import { newId } from '../lib/ids';
import type { Logger } from '../lib/logger';
import type { Metrics } from './metrics';

declare module 'express-serve-static-core' {
  interface Request {
    /** A child logger carrying this request's request_id and correlation_id. */
    log?: Logger;
    requestId?: string;
  }
}

export const REQUEST_ID_HEADER = 'x-request-id';
export const CORRELATION_ID_HEADER = 'x-correlation-id';

/** The status recorded for a request whose client closed the connection before the answer. */
export const ABANDONED_STATUS = 499;

/** A request or correlation id taken from a header must look like this; anything else is replaced or ignored. */
export const SAFE_ID = /^[\x21-\x7e]{1,128}$/;
/** Probes and scrapes stay at debug even when they answer 4xx. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * One structured log line per request, with a request id (taken from `X-Request-Id` when it is sane,
 * generated otherwise) and a correlation id (`X-Correlation-Id`, else the action's `correlation_id`, else the
 * request id), both echoed back. Also feeds the HTTP and problem-code metrics.
 */
export function requestLogging(opts: { logger: Logger; metrics?: Metrics }): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const incoming = req.get(REQUEST_ID_HEADER);
    const requestId = incoming && SAFE_ID.test(incoming) ? incoming : newId('request');
    const headerCorrelation = req.get(CORRELATION_ID_HEADER);
    const correlationId = headerCorrelation && SAFE_ID.test(headerCorrelation) ? headerCorrelation : undefined;
    req.requestId = requestId;
    req.log = opts.logger.child({ request_id: requestId, ...(correlationId ? { correlation_id: correlationId } : {}) });
    res.setHeader('X-Request-Id', requestId);
    if (correlationId) res.setHeader('X-Correlation-Id', correlationId);

    // The router assigns req.route when a route matches; req.baseUrl is the mount path only at that moment
    // (an error leaving the router restores it), so the template is captured then.
    let matchedRoute: string | undefined;
    let route: unknown;
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => route,
      set(value: { path?: unknown } | undefined) {
        route = value;
        if (typeof value?.path === 'string') matchedRoute = `${req.baseUrl}${value.path}` || '/';
      },
    });

    let problemCode: string | undefined;
    const send = res.send.bind(res);
    // Problems are sent from several places (the error handler, the intake route, others' routers):
    // reading the code off the outgoing body counts them all without each one remembering to.
    res.send = ((body?: unknown) => {
      if (res.statusCode >= 400 && typeof body === 'string' && /problem\+json/.test(String(res.get('content-type') ?? ''))) {
        try {
          problemCode = (JSON.parse(body) as { code?: string }).code;
        } catch {
          problemCode = 'unparseable';
        }
      }
      return send(body as never);
    }) as Response['send'];

    res.on('finish', () => done(false));
    res.on('close', () => done(true));
    let logged = false;
    function done(aborted: boolean) {
      if (logged) return;
      logged = true;
      const body = req.body as { correlation_id?: unknown } | undefined;
      recordRequest(opts, {
        method: req.method,
        // The full path: inside a mounted router `req.path` is only the part after the mount point
        // (`/agents`, not `/v1/admin/agents`).
        path: fullPath(req),
        route: matchedRoute ?? 'unmatched',
        status: res.statusCode,
        // The connection closed before the response was sent: the client gave up.
        abandoned: aborted && !res.writableFinished,
        seconds: Number(process.hrtime.bigint() - started) / 1e9,
        requestId,
        correlationId: correlationId ?? (typeof body?.correlation_id === 'string' ? body.correlation_id : undefined),
        agentId: req.principal?.agent.id,
        actionId: actionIdOf(req, res),
        problemCode,
      });
    }
    next();
  };
}

/** A request once answered (or abandoned), as its metrics and its log line need it. */
export type FinishedRequest = {
  method: string;
  /** The full path, without the query string (it may carry what a log must not). */
  path: string;
  /** The route's template, or `unmatched`. */
  route: string;
  status: number;
  abandoned: boolean;
  seconds: number;
  requestId: string;
  /** From X-Correlation-Id, else the body's correlation_id; the request id when neither. */
  correlationId?: string;
  agentId?: string;
  actionId?: string;
  problemCode?: string;
};

/**
 * The HTTP and problem-code metrics and the log line of one request: for every route, whether Express
 * (`requestLogging`) or a bare handler (src/intake/bare-route.ts) answered it.
 */
export function recordRequest(opts: { logger: Logger; metrics?: Metrics }, r: FinishedRequest): void {
  // An abandoned request's status is not the 200 a server starts with but 499 (nginx's "client closed
  // request"), in the log and the metrics alike.
  const status = r.abandoned ? ABANDONED_STATUS : r.status;
  opts.metrics?.httpRequest(r.method, r.route, status, r.seconds);
  if (r.problemCode) opts.metrics?.problem(r.problemCode, r.status);
  const level = lineLevel(r.path, r.status, r.problemCode, r.abandoned);
  // At the default level a successful request writes no line: nothing of one is built either.
  if (!opts.logger.isLevelEnabled(level)) return;
  const fields = {
    correlation_id: r.correlationId ?? r.requestId,
    method: r.method,
    path: r.path,
    route: r.route,
    status,
    duration_ms: Math.round(r.seconds * 100_000) / 100,
    ...(r.agentId ? { agent_id: r.agentId } : {}),
    ...(r.actionId ? { action_id: r.actionId } : {}),
    ...(r.problemCode ? { problem: r.problemCode } : {}),
    ...(r.abandoned ? { abandoned: true } : {}),
  };
  const log = opts.logger.child({ request_id: r.requestId });
  const message = r.abandoned
    ? 'request abandoned by the client'
    : level === 'warn'
      ? 'request refused: a backing service is unavailable'
      : level === 'error'
        ? 'request failed'
        : 'request';
  log[level](fields, message);
}

/**
 * The level of a request's line. Successful requests are at debug (issue #20: at info, one synchronous line per
 * request cost the intake about a tenth of its CPU); refusals (4xx) and abandoned requests stay at info.
 */
function lineLevel(path: string, status: number, problemCode: string | undefined, abandoned: boolean): 'debug' | 'info' | 'warn' | 'error' {
  if (abandoned) return 'info';
  // A 503 from /readyz is its answer, not a failure (the probe logs the outage once).
  if (QUIET_PATHS.has(path) && (status < 500 || path === '/readyz')) return 'debug';
  // A dependency outage is the probe's to report (once, at warn); each refused request is a warning, not an error.
  if (problemCode === 'service-unavailable') return 'warn';
  if (status >= 500) return 'error';
  return status >= 400 ? 'info' : 'debug';
}

function actionIdOf(req: Request, res: Response): string | undefined {
  const param = req.params?.id;
  if (typeof param === 'string' && param.startsWith('act_')) return param;
  const location = res.getHeader('location');
  const m = typeof location === 'string' ? /\/v1\/actions\/(act_[a-z0-9]+)/.exec(location) : null;
  return m?.[1];
}

function fullPath(req: Request): string {
  const url = req.originalUrl || req.url;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}
