import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken } from '../auth/tokens';
import { authenticateAgent, type Principal } from '../auth/agents';
import { Problem } from '../lib/errors';
import { newId } from '../lib/ids';
import type { Logger } from '../lib/logger';
import { hasBody, isPlainJsonRequest, readJsonBody, sendBareProblem, sendText } from '../http/json-request';
import { problemFor } from '../http/problem-response';
import { CORRELATION_ID_HEADER, REQUEST_ID_HEADER, SAFE_ID, recordRequest } from '../observability/request-log';
import type { Metrics } from '../observability/metrics';
import { answerCreateAction, MAX_BODY_BYTES } from './routes';
import type { IntakeDeps } from './service';
import { IDEMPOTENCY_KEY_HEADER } from './idempotency-header';

const PATH = '/v1/actions';

/**
 * POST /v1/actions without Express: the agents' hot route (issue #20: Express, its router and body parsing were
 * a fifth of the intake's CPU, more than the whole records-only server). It answers exactly as the Express
 * route and its middleware do — request and correlation ids, bearer authentication (the credential cache),
 * the JSON body with the hostile-input checks, the same answer (`answerCreateAction`), problems as
 * `problemHandler` maps them, the same metrics and log line (`recordRequest`) — but for the ETag Express adds
 * to a POST's answer. It takes only plain UTF-8 JSON posts to the exact path; `handle` answers false for
 * anything else (another charset, a content encoding, a query string, a body-less request), which Express then
 * answers as before.
 */
export function bareIntakeRoute(deps: IntakeDeps, opts: { logger: Logger; metrics?: Metrics }) {
  return {
    handle(req: IncomingMessage, res: ServerResponse): boolean {
      if (req.method !== 'POST' || req.url !== PATH || !isPlainJsonRequest(req) || !hasBody(req)) return false;
      void serve(deps, opts, req, res);
      return true;
    },
  };
}

async function serve(deps: IntakeDeps, opts: { logger: Logger; metrics?: Metrics }, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = process.hrtime.bigint();
  const incoming = req.headers[REQUEST_ID_HEADER];
  const requestId = typeof incoming === 'string' && SAFE_ID.test(incoming) ? incoming : newId('request');
  const headerCorrelation = req.headers[CORRELATION_ID_HEADER];
  const correlationId = typeof headerCorrelation === 'string' && SAFE_ID.test(headerCorrelation) ? headerCorrelation : undefined;
  res.setHeader('X-Request-Id', requestId);
  if (correlationId) res.setHeader('X-Correlation-Id', correlationId);

  let principal: Principal | null = null;
  let body: unknown;
  let problemCode: string | undefined;
  let actionId: string | undefined;
  let recorded = false;
  const record = (aborted: boolean) => {
    if (recorded) return;
    recorded = true;
    const bodyCorrelation = (body as { correlation_id?: unknown } | undefined)?.correlation_id;
    recordRequest(opts, {
      method: 'POST',
      path: PATH,
      route: PATH,
      status: res.statusCode,
      abandoned: aborted && !res.writableFinished,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      requestId,
      correlationId: correlationId ?? (typeof bodyCorrelation === 'string' ? bodyCorrelation : undefined),
      agentId: principal?.agent.id,
      actionId,
      problemCode,
    });
  };
  res.on('finish', () => record(false));
  res.on('close', () => record(true));

  try {
    // In the Express route's order: authentication before the body is read.
    const token = bearerToken(req.headers.authorization);
    principal = token ? await (deps.credentials ? deps.credentials.authenticate(token) : authenticateAgent(deps.db, token)) : null;
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="countersign"');
      throw new Problem('unauthenticated', token ? 'the token is invalid, expired or revoked' : 'an agent bearer token is required');
    }
    body = await readJsonBody(req, MAX_BODY_BYTES);
    const header = req.headers[IDEMPOTENCY_KEY_HEADER];
    const answer = await answerCreateAction(deps, principal, body, typeof header === 'string' ? header : undefined);
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    problemCode = answer.problemCode;
    const location = answer.headers.Location;
    if (location) actionId = location.slice(`${PATH}/`.length);
    sendText(res, answer.status, answer.contentType, answer.text);
  } catch (error) {
    const problem = problemFor(error, PATH);
    problemCode = problem.code;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendBareProblem(res, problem, PATH);
  }
}
