import express, { Router } from 'express';
import { clientGone } from '../http/client-gone';
import { jsonBody } from '../http/json-body';
import { eq } from 'drizzle-orm';
import { actions } from '../db/schema';
import { Problem } from '../lib/errors';
import { requireAgent } from '../http/agent-auth';
import { toActionView } from './action-view';
import { createAction, type IntakeDeps, type Principal } from './service';
import { withRateLimitHeaders } from '../controls/rate-limit';
import { getActionQuery } from './schemas';
import type { LongPollDeps } from './wait';
import { parseQuery } from '../http/query';
import { IDEMPOTENCY_KEY_HEADER, withIdempotencyHeader } from './idempotency-header';

export const MAX_BODY = '256kb';
export const MAX_BODY_BYTES = 256 * 1024;

/** /v1 routes for agents. JSON only; bodies over 256 KiB are refused before parsing. */
export function intakeRouter(deps: IntakeDeps & LongPollDeps): Router {
  const router = Router();
  const json = jsonBody({ limit: MAX_BODY });
  const requireJson: express.RequestHandler = (req, _res, next) => {
    if (!req.is('application/json')) return next(new Problem('unsupported-media-type', 'send the body as application/json'));
    next();
  };

  // Plain UTF-8 JSON requests take the bare route (src/intake/bare-route.ts) and never reach this one; it answers
  // the others (another charset, a content encoding, a body-less request) the same way.
  router.post('/actions', requireAgent(deps.db, deps.credentials), requireJson, ...json, async (req, res, next) => {
    try {
      const answer = await answerCreateAction(deps, req.principal!, req.body, req.get(IDEMPOTENCY_KEY_HEADER));
      for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
      res.status(answer.status).type(answer.contentType).send(answer.text);
    } catch (e) {
      next(e);
    }
  });

  router.get('/actions/:id', requireAgent(deps.db), async (req, res, next) => {
    try {
      const query = { data: parseQuery(getActionQuery, req.query) };
      let [row] = await deps.db.select().from(actions).where(eq(actions.id, String(req.params.id))).limit(1);
      // Another agent's action is indistinguishable from a missing one.
      if (!row || row.agentId !== req.principal!.agent.id) throw new Problem('not-found', 'no such action');
      if (query.data.wait) {
        const gone = clientGone(req, res);
        const signal = deps.shutdown ? AbortSignal.any([deps.shutdown, gone]) : gone;
        row = await deps.longPolls.wait(row, { agentId: req.principal!.agent.id, since: query.data.status ?? row.status, waitMs: query.data.wait * 1000, signal });
        if (res.destroyed) return;
      }
      // A fresh signed receipt of where the action stands (decision, approvers, commit outcome).
      const receipt = deps.receipts ? await deps.receipts.receiptFor(deps.db, row) : undefined;
      res.json({ ...toActionView(row), ...(receipt ? { receipt } : {}) });
    } catch (e) {
      next(e);
    }
  });

  return router;
}

/** POST /v1/actions's answer to an authenticated agent's parsed body, whichever HTTP layer received it. */
export async function answerCreateAction(
  deps: IntakeDeps,
  principal: Principal,
  body: unknown,
  idempotencyKeyHeader: string | undefined,
): Promise<{ status: number; headers: Record<string, string>; contentType: string; text: string; problemCode?: string }> {
  const result = await withRateLimitHeaders(deps.rateLimiter, principal.agent, () => createAction(deps, principal, withIdempotencyHeader(body, idempotencyKeyHeader)));
  const headers: Record<string, string> = { ...result.headers };
  if (result.replayed) headers['Idempotent-Replayed'] = 'true';
  const id = (result.body.id ?? result.body.action_id) as string | undefined;
  if (id && result.status === 201) headers.Location = `/v1/actions/${id}`;
  const problem = result.status >= 400;
  return {
    status: result.status,
    headers,
    contentType: problem ? 'application/problem+json' : 'application/json',
    text: JSON.stringify(result.body),
    ...(problem && typeof result.body.code === 'string' ? { problemCode: result.body.code } : {}),
  };
}
