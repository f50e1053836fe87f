import { REFUSED_CLASS } from '../executor';
import { drillRequest, evidence, exercise, getAction, postAction, waitFor, type DrillContext } from '../context';
import type { DrillExercise } from '../report';

/**
 * A permission failure: a change a human approves is refused by the executor (403). It must end `failed` at
 * once (terminal: no retry), with an exception record, and the approvers' card must have been posted.
 * The on-call approves the drill card in the drill channel; that click is part of the exercise.
 */
export async function permissionFailure(ctx: DrillContext): Promise<DrillExercise> {
  const ex = exercise('permission-failure', 'Permission failure (the executor refuses)');
  const instance = ctx.instances[0]!;
  const { agent } = ctx;
  const created = await postAction(instance, agent.token, drillRequest(ctx, REFUSED_CLASS));
  const id = String(created.body.id ?? '');
  ex.step({
    name: 'the change waits for approval',
    passed: created.status === 201 && created.body.status === 'pending_approval',
    detail: `HTTP ${created.status}, action ${id || '(none)'} ${String(created.body.status ?? created.body.type)}`,
    evidence: id ? await evidence(ctx, { actionId: id, types: ['action.requested', 'policy.decided'] }) : [],
  });
  if (!id) return ex.finish();

  const card = await waitFor(() => evidence(ctx, { actionId: id, types: ['approval.card_posted'] }).then((e) => (e.length ? e : null)), 30_000);
  ex.step({ name: 'the approval card is posted', passed: !!card, detail: card ? 'card posted to the drill channel' : 'no card within 30 s', evidence: card ?? [] });
  ctx.log(`waiting up to ${Math.round(ctx.approvalTimeoutMs / 1000)} s for a human to approve ${id} in the drill channel`);

  const approvedAt = Date.now();
  const ended = await waitFor(async () => {
    const r = await getAction(instance, agent.token, id);
    return ['failed', 'committed', 'denied', 'expired', 'cancelled'].includes(String(r.body.status)) ? r.body : null;
  }, ctx.approvalTimeoutMs, 250);
  const approvals = await evidence(ctx, { actionId: id, types: ['approval.recorded', 'action.approved'] });
  ex.step({ name: 'a human approved it', passed: approvals.length === 2, detail: approvals.length ? 'approved in Slack' : 'not approved in time', evidence: approvals });
  const failure = (ended?.failure ?? {}) as Record<string, unknown>;
  const failedEv = await evidence(ctx, { actionId: id, types: ['commit.failed', 'exception_record'] });
  ex.step({
    name: 'the refusal is terminal, with an exception record',
    passed: ended?.status === 'failed' && failure.code === 'executor-rejected' && failedEv.length === 2,
    detail: `ended ${String(ended?.status ?? 'not at all')}: ${String(failure.reason ?? '')}`,
    evidence: failedEv,
  });
  // A retry would show up as a second call; give the queue a moment to (wrongly) make one.
  await new Promise((r) => setTimeout(r, 1000));
  const calls = ctx.executor.calls.filter((c) => c.action_id === id);
  ex.measurements.executor_calls = calls.length;
  ex.measurements.approval_to_end_ms = Date.now() - approvedAt;
  ex.step({ name: 'no retry', passed: calls.length === 1 && calls[0]!.status === 403, detail: `the drill executor was called ${calls.length} time(s)`, evidence: [] });
  return ex.finish();
}
