import { drillRequest, evidence, exercise, postAction, type DrillContext } from '../context';
import type { DrillExercise } from '../report';

const MAX_REPEATS = 200;
const problemCode = (body: Record<string, unknown>) => String(body.type ?? '').split('/').pop();

/** Reads one counter of an instance's /metrics (0 when absent). */
async function problemCount(instance: string, code: string): Promise<number> {
  const res = await fetch(new URL('/metrics', instance));
  const text = await res.text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('countersign_problem_responses_total{') && line.includes(`code="${code}"`)) total += Number(line.split(' ').pop());
  }
  return total;
}

/**
 * A runaway loop: the loop agent repeats one task until its per-task budget stops it, then keeps going with
 * new tasks until its request rate limit stops it. Each stop must come with its alert signal: the budget's
 * refusal in the evidence, and both problem counters on the instance's /metrics (what alerting rules watch).
 */
export async function runawayLoop(ctx: DrillContext): Promise<DrillExercise> {
  const ex = exercise('runaway-loop', 'Runaway loop (stopped by budget and rate limit, with its alert)');
  const instance = ctx.instances[0]!;
  const agent = ctx.loopAgent;
  const before = { budget: await problemCount(instance, 'budget-exhausted'), rate: await problemCount(instance, 'rate-limited') };

  const task = `${ctx.drillId}-loop`;
  let accepted = 0;
  let stop: { status: number; code: string | undefined } | null = null;
  for (let i = 0; i < MAX_REPEATS && !stop; i++) {
    const r = await postAction(instance, agent.token, drillRequest(ctx, 'countersign_drill.probe.loop', { correlation_id: task }));
    if (r.status === 201) accepted++;
    else stop = { status: r.status, code: problemCode(r.body) };
  }
  const budgetEv = await evidence(ctx, { agentId: agent.id, types: ['request.refused'] });
  ex.measurements.same_task_accepted_before_stop = accepted;
  ex.step({
    name: 'the same task repeated is stopped by its budget',
    passed: stop?.code === 'budget-exhausted' && budgetEv.length >= 1,
    detail: stop ? `stopped after ${accepted} accepted repeat(s): HTTP ${stop.status} ${stop.code}` : `not stopped after ${MAX_REPEATS} repeats`,
    evidence: budgetEv.slice(-1),
  });

  let fresh = 0;
  let limited: { status: number; code: string | undefined; retryAfter?: string } | null = null;
  for (let i = 0; i < MAX_REPEATS && !limited; i++) {
    const r = await postAction(instance, agent.token, drillRequest(ctx, 'countersign_drill.probe.loop'));
    if (r.status === 201) fresh++;
    else if (problemCode(r.body) === 'rate-limited') limited = { status: r.status, code: 'rate-limited' };
    else if (problemCode(r.body) !== 'budget-exhausted') limited = { status: r.status, code: problemCode(r.body) };
  }
  ex.measurements.new_tasks_accepted_before_rate_limit = fresh;
  ex.step({
    name: 'new tasks in a tight loop are stopped by the rate limit',
    passed: limited?.code === 'rate-limited',
    detail: limited ? `stopped after ${fresh} more accepted request(s): HTTP ${limited.status} ${limited.code}` : `not stopped after ${MAX_REPEATS} requests`,
    evidence: [],
    gap: 'a rate-limited request is not written to the evidence store; the metric below is its record',
  });

  const after = { budget: await problemCount(instance, 'budget-exhausted'), rate: await problemCount(instance, 'rate-limited') };
  ex.measurements.alert_counters = { before, after };
  ex.step({
    name: 'the alert signals rose',
    passed: after.budget > before.budget && after.rate > before.rate,
    detail: `countersign_problem_responses_total on ${instance}: budget-exhausted ${before.budget} → ${after.budget}, rate-limited ${before.rate} → ${after.rate} (alert rules in docs/runbook.md)`,
    evidence: [],
  });
  return ex.finish();
}
