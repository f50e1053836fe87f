import { and, eq } from 'drizzle-orm';
import { actions } from '../../db/schema';
import { drillRequest, evidence, exercise, postAction, type DrillContext } from '../context';
import type { DrillExercise } from '../report';

const problemCode = (body: Record<string, unknown>) => String(body.type ?? '').split('/').pop();

/**
 * A bad tool call three ways: a class outside the agent's scopes, a class policy denies, and parameters
 * that break the executor's contract. Each must be refused before anything reaches an executor.
 */
export async function badToolCall(ctx: DrillContext): Promise<DrillExercise> {
  const ex = exercise('bad-tool-call', 'Bad tool call (out of scope, denied, contract violation)');
  const instance = ctx.instances[0]!;
  const { agent } = ctx;

  const outside = drillRequest(ctx, 'countersign_outside.scope.attempt');
  const a = await postAction(instance, agent.token, outside);
  const refusedEv = (await evidence(ctx, { agentId: agent.id, types: ['request.refused'] })).slice(-1);
  ex.step({
    name: 'out of scope is refused',
    passed: a.status === 403 && problemCode(a.body) === 'out-of-scope' && refusedEv.length === 1,
    detail: `HTTP ${a.status} ${problemCode(a.body)} for countersign_outside.scope.attempt (scopes ${agent.name}: countersign_drill.*)`,
    evidence: refusedEv,
  });

  const denied = await postAction(instance, agent.token, drillRequest(ctx, 'countersign_drill.forbidden.delete'));
  const deniedId = typeof denied.body.action_id === 'string' ? denied.body.action_id : '';
  const deniedEv = deniedId ? await evidence(ctx, { actionId: deniedId, types: ['action.requested', 'policy.decided'] }) : [];
  ex.step({
    name: 'policy denies a forbidden class',
    passed: denied.status === 403 && problemCode(denied.body) === 'policy-denied' && deniedEv.length === 2,
    detail: `HTTP ${denied.status} ${problemCode(denied.body)}, action ${deniedId || '(none)'} recorded as denied by ${(denied.body.decision as { rule_id?: string } | undefined)?.rule_id ?? '?'}`,
    evidence: deniedEv,
  });

  const violating = drillRequest(ctx, 'countersign_drill.change.apply', { params: { note: 'drill', target: 'production' } });
  const v = await postAction(instance, agent.token, violating);
  const created = await ctx.db
    .select({ id: actions.id })
    .from(actions)
    .where(and(eq(actions.agentId, agent.id), eq(actions.idempotencyKey, String(violating.idempotency_key))));
  ex.step({
    name: 'a contract violation is refused before policy',
    passed: v.status === 422 && problemCode(v.body) === 'contract-violation' && created.length === 0,
    detail: `HTTP ${v.status} ${problemCode(v.body)}: ${String(v.body.detail ?? '')}; no action was recorded`,
    evidence: [],
    gap: 'a contract violation is answered (422) but not written to the evidence store; the HTTP answer and metrics are its only record',
  });
  ex.measurements.executor_calls = ctx.executor.calls.filter((c) => c.action_id === deniedId).length;
  ex.step({
    name: 'nothing reached the executor',
    passed: ex.measurements.executor_calls === 0,
    detail: `drill executor calls for these requests: ${String(ex.measurements.executor_calls)}`,
    evidence: [],
  });
  return ex.finish();
}
