import type { Db } from '../db/client';
import type { FileConfig, ExecutorConfig } from '../config/file-config';
import { isInScope, type Principal } from '../auth/agents';
import { appendEvents } from '../audit/append';
import { enforceContract } from '../contracts/validate';
import { resolveExecutor } from '../executor/registry';
import { Problem } from '../lib/errors';
import { createActionRequestChecked, isValidActionClass, type CreateActionRequest } from './schemas';
import { zodProblem } from './zod-problem';

/** The request body, validated: schema, no NUL anywhere, a well-formed action class. */
export function parseRequest(raw: unknown): CreateActionRequest {
  const parsed = createActionRequestChecked.safeParse(raw);
  if (!parsed.success) throw zodProblem(parsed.error);
  const req = parsed.data;
  if (!isValidActionClass(req.action_class)) {
    throw new Problem('invalid-action-class', `action_class "${req.action_class.slice(0, 200)}" must match ^[a-z0-9_]+(\\.[a-z0-9_]+)+$`);
  }
  return req;
}

/**
 * The agent may ask for this at all: active, and the class within its scopes. A refusal is only ever made on
 * credentials read from the database, so a cached principal that would be refused is read again ('recheck').
 * An out-of-scope request is evidence in itself.
 */
export async function admitAgent(db: Db, principal: Principal, req: CreateActionRequest): Promise<'admitted' | 'recheck'> {
  const { agent } = principal;
  const inScope = isInScope(agent, req.action_class);
  if (principal.verifiedBy === 'cache' && (agent.status !== 'active' || !inScope)) return 'recheck';
  if (agent.status !== 'active') throw new Problem('agent-suspended', `agent ${agent.name} is suspended`);
  if (inScope) return 'admitted';
  await appendEvents(db, [
    {
      type: 'request.refused',
      actor: `agent:${agent.id}`,
      agentId: agent.id,
      correlationId: req.correlation_id ?? null,
      data: { reason: 'out-of-scope', action_class: req.action_class, scopes: agent.scopes, idempotency_key: req.idempotency_key },
    },
  ]);
  throw new Problem('out-of-scope', `agent ${agent.name} may not request ${req.action_class}`, {
    extensions: { action_class: req.action_class, scopes: agent.scopes },
  });
}

/** The executor that will perform it, and its tool contract for the params. */
export function routeToExecutor(config: FileConfig, req: CreateActionRequest): ExecutorConfig {
  const executor = resolveExecutor(config, req.action_class);
  if (!executor) throw new Problem('no-executor', `no executor is configured for ${req.action_class}`);
  enforceContract(executor, req.action_class, req.params);
  return executor;
}

/**
 * Evidence of a request refused before any action was recorded (requester, task, prepare): who asked, for what,
 * and the problem it got. Use as `.catch(recordIntakeRefusal(...))`: it records and rethrows.
 */
export function recordIntakeRefusal(db: Db, principal: Principal, req: CreateActionRequest, step: string) {
  return async (e: unknown): Promise<never> => {
    if (e instanceof Problem) {
      await appendEvents(db, [
        {
          type: 'request.refused',
          actor: `agent:${principal.agent.id}`,
          agentId: principal.agent.id,
          correlationId: req.correlation_id ?? null,
          data: { reason: e.code, step, detail: e.message, action_class: req.action_class, idempotency_key: req.idempotency_key, ...e.extensions },
        },
      ]);
    }
    throw e;
  };
}
