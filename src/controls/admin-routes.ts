import express, { Router, type Request } from 'express';
import { z } from 'zod';
import type { Db } from '../db/client';
import { AgentInputError, createAgent, findAgentByName, listAgents, type Agent } from '../auth/agents';
import { AgentNotFoundError, listAgentTokens, parseGrace, revokeAgentTokens, rotateAgentToken } from '../auth/token-admin';
import { updateAgent } from '../auth/agent-update';
import { requireAdmin } from '../http/admin-auth';
import { parseQuery } from '../http/query';
import { jsonBody } from '../http/json-body';
import { zodProblem } from '../intake/zod-problem';
import { Problem } from '../lib/errors';
import { budgetCountersFor } from './budgets';
import { killAgent, killAllAgents, resumeAgent } from './kill-switch';
import { createAgentBody, grantsQuery, killBody, revokeBody, rotateBody, updateAgentBody } from './admin-schemas';
import { getGrant, grantView, listGrants, usesOfGrant } from '../grants/store';
import { revokeGrant } from '../grants/revoke';

export type AdminRouterDeps = {
  db: Db;
  /** COUNTERSIGN_ADMIN_TOKEN: the bootstrap credential for first start-up. */
  bootstrapToken?: string;
  /** Called with the actions the kill switch cancelled, after its transaction committed (card updates). */
  afterCancel?(actionIds: string[]): void;
};

function parse<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw zodProblem(parsed.error);
  return parsed.data;
}

/** An agent as the admin API shows it: snake_case, like every other body of this API. */
function toAgentView(a: Agent & { suspendedAt?: Date | null; suspendedBy?: string | null }) {
  return {
    id: a.id,
    name: a.name,
    owner: a.owner,
    scopes: a.scopes,
    status: a.status,
    rate_limit_per_minute: a.rateLimitPerMinute,
    suspended_at: a.suspendedAt?.toISOString() ?? null,
    suspended_by: a.suspendedBy ?? null,
  };
}

/** Evidence names the operator: `admin:<credential id>`. */
const actorOf = (req: Request) => `admin:${req.admin!.id}`;

/** Turns the control functions' input errors into problems. */
function asProblem(e: unknown): unknown {
  if (e instanceof AgentNotFoundError) return new Problem('not-found', e.message);
  if (e instanceof AgentInputError) {
    return /already exists/.test(e.message) ? new Problem('invalid-state', e.message) : new Problem('validation-failed', e.message);
  }
  return e;
}

/**
 * /v1/admin: agents (list, create, rotate, revoke) and the kill switch. Admin credentials only
 * (`csadm_…` or the bootstrap token); agent tokens are refused with 403.
 */
export function adminRouter(deps: AdminRouterDeps): Router {
  const router = Router();
  router.use(requireAdmin(deps.db, deps.bootstrapToken), ...jsonBody({ limit: '64kb' }));
  const handle =
    (fn: (req: Request) => Promise<{ status?: number; body: unknown }>): express.RequestHandler =>
    async (req, res, next) => {
      try {
        const out = await fn(req);
        res.status(out.status ?? 200).json(out.body);
      } catch (e) {
        next(asProblem(e));
      }
    };
  const agentNamed = async (name: string) => {
    const agent = await findAgentByName(deps.db, name);
    if (!agent) throw new AgentNotFoundError(`no agent named ${name}`);
    return agent;
  };

  router.get(
    '/agents',
    handle(async () => ({
      body: {
        agents: (await listAgents(deps.db)).map(toAgentView),
      },
    })),
  );
  router.get(
    '/agents/:name',
    handle(async (req) => {
      const a = await agentNamed(String(req.params.name));
      return {
        body: {
          ...toAgentView(a),
          tokens: await listAgentTokens(deps.db, a.id),
          budgets: (await budgetCountersFor(deps.db, a.id)).map((c) => ({ budget: c.budget, scope: c.scopeKey, window: c.window, reserved: Number(c.reserved), spent: Number(c.spent) })),
        },
      };
    }),
  );
  router.post(
    '/agents',
    handle(async (req) => {
      const body = parse(createAgentBody, req.body);
      const { agent, token } = await createAgent(
        deps.db,
        { name: body.name, owner: body.owner, tags: body.tags, scopes: body.scopes, rateLimitPerMinute: body.rate_limit_per_minute ?? null },
        actorOf(req),
      );
      return { status: 201, body: { agent: toAgentView(agent), token } };
    }),
  );
  router.patch(
    '/agents/:name',
    handle(async (req) => {
      const body = parse(updateAgentBody, req.body);
      const a = await updateAgent(deps.db, String(req.params.name), { owner: body.owner, tags: body.tags, scopes: body.scopes, rateLimitPerMinute: body.rate_limit_per_minute }, actorOf(req));
      return { body: toAgentView(a) };
    }),
  );
  router.post(
    '/agents/:name/rotate',
    handle(async (req) => {
      const body = parse(rotateBody, req.body);
      const grace = parseGrace(body.grace);
      if (grace === null) throw new Problem('validation-failed', `grace "${body.grace}" must be 0 or a duration like 15m, 1h, 2d (at most 30 days)`);
      const rotated = await rotateAgentToken(deps.db, String(req.params.name), grace, actorOf(req));
      return { status: 201, body: { agent: rotated.agent, token: rotated.token, token_id: rotated.tokenId, previous: rotated.previous } };
    }),
  );
  router.post(
    '/agents/:name/revoke',
    handle(async (req) => {
      const body = parse(revokeBody, req.body);
      return { body: await revokeAgentTokens(deps.db, String(req.params.name), actorOf(req), { tokenId: body.token_id, reason: body.reason }) };
    }),
  );
  router.post(
    '/agents/:name/kill',
    handle(async (req) => {
      const body = parse(killBody, req.body);
      const result = await killAgent(deps.db, String(req.params.name), actorOf(req), body.reason ?? null);
      deps.afterCancel?.(result.cards);
      return { body: result };
    }),
  );
  router.post(
    '/kill-all',
    handle(async (req) => {
      const body = parse(killBody, req.body);
      const results = await killAllAgents(deps.db, actorOf(req), body.reason ?? null);
      deps.afterCancel?.(results.flatMap((r) => r.cards));
      return { body: { agents: results } };
    }),
  );
  // Standing grants ("Approve this and similar"): list, show with uses, revoke (docs/agent-controls.md).
  router.get(
    '/grants',
    handle(async (req) => {
      const q = parseQuery(grantsQuery, req.query);
      const agentId = q.agent ? (await agentNamed(q.agent)).id : undefined;
      return { body: { grants: (await listGrants(deps.db, { agentId, active: q.active === 'true' })).map(grantView) } };
    }),
  );
  router.get(
    '/grants/:id',
    handle(async (req) => {
      const g = await getGrant(deps.db, String(req.params.id));
      if (!g) throw new Problem('not-found', `no grant ${String(req.params.id)}`);
      return { body: { ...grantView(g), uses: (await usesOfGrant(deps.db, g.id)).map((u) => ({ action_id: u.id, status: u.status, created_at: u.createdAt.toISOString() })) } };
    }),
  );
  router.post(
    '/grants/:id/revoke',
    handle(async (req) => {
      const body = parse(killBody, req.body);
      const outcome = await revokeGrant(deps.db, String(req.params.id), actorOf(req), { why: body.reason ?? null });
      if (outcome.kind === 'refused') throw new Problem(outcome.reason === 'not-found' ? 'not-found' : 'invalid-state', outcome.detail);
      deps.afterCancel?.([outcome.grant.originActionId]);
      return { body: grantView(outcome.grant) };
    }),
  );
  router.post(
    '/agents/:name/resume',
    handle(async (req) => ({ body: await resumeAgent(deps.db, String(req.params.name), actorOf(req)) })),
  );
  return router;
}
