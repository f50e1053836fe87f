import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { auditEvents, budgetCounters, budgetReservations, actions } from '../../src/db/schema';
import { decideApproval } from '../../src/approvals/decide';
import { expirePendingApprovals } from '../../src/approvals/expire';
import { transitionAction } from '../../src/approvals/transition';
import { startCountersign, type Countersign } from '../../src/main';
import { ALICE, actionRequest, eventually, startHarness, type Harness } from '../support/harness';
import { addAgent, controlsConfig, postTo } from './support';

const BUDGETS = `  - { name: task-steps, per: task, max: 3, action_classes: ["external_automation.job.*"] }
  - { name: daily-reads, per: agent_day, max: 4, action_classes: ["external_automation.read.*"] }
  - { name: api-spend, per: agent_day, max: 500, sum: params.amount, unit: EUR, action_classes: ["external_automation.api.write"], when: { params.currency: EUR } }
`;

let h: Harness;
let second: Countersign;
beforeAll(async () => {
  h = await startHarness({
    configFor: (url) => controlsConfig(url, { budgets: BUDGETS, supportsDryRun: true }),
    executor: { respond: (call) => ((call.body.params as { fail?: boolean }).fail ? { status: 400, body: { error: 'no' } } : { status: 200, body: { ok: true } }) },
  });
  second = await startCountersign(h.env, { config: h.app.config, workers: false });
});
afterAll(async () => {
  await second?.close();
  await h?.close();
});

const jobRun = (task: string, extra: Record<string, unknown> = {}) =>
  actionRequest({ action_class: 'external_automation.job.run', task_id: task, params: { target_count: 1 }, ...extra });
const spend = (amount: unknown, currency = 'EUR') =>
  actionRequest({ action_class: 'external_automation.api.write', params: { amount, currency, target_count: 1 } });

/** A task the server opens for the agent (POST /v1/tasks): per-task budgets count against it. */
async function openTask(token: string): Promise<string> {
  const res = await fetch(`${h.app.url}/v1/tasks`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}
const read = (params: Record<string, unknown> = {}) => actionRequest({ action_class: 'external_automation.read.jobs', params, context: {} });

async function counter(budget: string, scopeKey: string) {
  const [row] = await h.db.db.select().from(budgetCounters).where(and(eq(budgetCounters.budget, budget), eq(budgetCounters.scopeKey, scopeKey)));
  return row ? { reserved: Number(row.reserved), spent: Number(row.spent) } : { reserved: 0, spent: 0 };
}
async function reservationState(actionId: string) {
  return (await h.db.db.select().from(budgetReservations).where(eq(budgetReservations.actionId, actionId))).map((r) => r.state);
}

describe('invocations per task', () => {
  it('reserves one per accepted action and refuses the next with 429 budget-exhausted, its state and an audit event', async () => {
    const { token, agent } = await addAgent(h);
    const task = await openTask(token);
    for (let i = 0; i < 3; i++) expect((await postTo(h.app.url, token, jobRun(task))).status).toBe(201);
    const body = jobRun(task);
    const refused = await postTo(h.app.url, token, body);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({
      code: 'budget-exhausted',
      retryable: false,
      budget: { name: 'task-steps', per: 'task', max: 3, reserved: 3, spent: 0, requested: 1, remaining: 0, window: 'task', resets_at: null, counts: 'invocations', scope: { agent_id: agent.id, task_id: task } },
    });
    expect(refused.headers.get('ratelimit')).toBeTruthy();
    const [evt] = await h.db.db.select().from(auditEvents).where(and(eq(auditEvents.agentId, agent.id), eq(auditEvents.type, 'request.refused')));
    expect(evt).toMatchObject({ actor: `agent:${agent.id}`, correlationId: body.correlation_id });
    expect(evt!.data).toMatchObject({ reason: 'budget-exhausted', idempotency_key: body.idempotency_key, budget: { name: 'task-steps', remaining: 0 } });
    const stored = await h.db.db.select().from(actions).where(eq(actions.idempotencyKey, body.idempotency_key as string));
    expect(stored).toHaveLength(0);
    // Another task of the same agent has its own budget.
    expect((await postTo(h.app.url, token, jobRun(await openTask(token)))).status).toBe(201);
    // Budget comes before policy: an over-budget request that policy would deny is refused for the budget.
    expect((await postTo(h.app.url, token, jobRun(task, { params: { target_count: 99 } }))).body.code).toBe('budget-exhausted');
  });

  it('gives the reservation back when a human denies the action', async () => {
    const { token, agent } = await addAgent(h);
    const task = await openTask(token);
    const created = [];
    for (let i = 0; i < 3; i++) created.push((await postTo(h.app.url, token, jobRun(task))).body);
    expect((await postTo(h.app.url, token, jobRun(task))).status).toBe(429);
    const out = await decideApproval(h.db.db, async () => 'approver', { actionId: created[0].id, userId: ALICE, verdict: 'deny', reason: 'no', shownPayloadHash: created[0].payload_hash });
    expect(out.kind).toBe('denied');
    expect(await reservationState(created[0].id)).toEqual(['released']);
    expect(await counter('task-steps', `${agent.id}/${task}`)).toEqual({ reserved: 2, spent: 0 });
    expect((await postTo(h.app.url, token, jobRun(task))).status).toBe(201);
  });

  it('does not reserve for dry runs or for requests policy denies', async () => {
    const { token, agent } = await addAgent(h);
    const task = await openTask(token);
    expect((await postTo(h.app.url, token, jobRun(task, { dry_run: true }))).body.status).toBe('previewed');
    expect((await postTo(h.app.url, token, jobRun(task, { params: { target_count: 99 } }))).status).toBe(403);
    expect(await counter('task-steps', `${agent.id}/${task}`)).toEqual({ reserved: 0, spent: 0 });
  });
});

describe('a summed parameter per agent per day (api-spend: 500 EUR)', () => {
  it('counts amounts, shows what is left, and ignores actions its `when` does not match', async () => {
    const { token, agent } = await addAgent(h);
    for (let i = 0; i < 4; i++) expect((await postTo(h.app.url, token, spend(120))).status).toBe(201);
    const refused = await postTo(h.app.url, token, spend(120));
    expect(refused.status).toBe(429);
    expect(refused.body.budget).toMatchObject({ name: 'api-spend', per: 'agent_day', unit: 'EUR', counts: 'params.amount', reserved: 480, remaining: 20, requested: 120, window: new Date().toISOString().slice(0, 10) });
    expect(refused.body.budget.resets_at).toMatch(/T00:00:00.000Z$/);
    expect(refused.body.detail).toMatch(/20 of 500 EUR left/);
    expect((await postTo(h.app.url, token, spend(20))).status).toBe(201);
    expect((await postTo(h.app.url, token, spend(0.01))).status).toBe(429);
    expect((await postTo(h.app.url, token, spend(1000, 'USD'))).status).toBe(201);
    expect(await counter('api-spend', agent.id)).toEqual({ reserved: 500, spent: 0 });
  });

  it('fails closed when the summed value is missing or not a non-negative number', async () => {
    const { token } = await addAgent(h);
    for (const bad of [undefined, '100', -1]) {
      const res = await postTo(h.app.url, token, spend(bad));
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'validation-failed', errors: [{ path: 'params.amount' }] });
    }
  });

  it('is never overspent by concurrent requests on two instances', async () => {
    const { token, agent } = await addAgent(h);
    const results = await Promise.all(Array.from({ length: 24 }, (_, i) => postTo(i % 2 ? second.url : h.app.url, token, spend(100))));
    expect(results.filter((r) => r.status === 201)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429).every((r) => r.body.code === 'budget-exhausted')).toBe(true);
    expect(results.filter((r) => r.status === 429)).toHaveLength(19);
    expect(await counter('api-spend', agent.id)).toEqual({ reserved: 500, spent: 0 });
  });
});

describe('settlement (one hook in transitionAction)', () => {
  it('marks the reservation spent on committed and gives it back on failed', async () => {
    const { token, agent } = await addAgent(h);
    const ok = (await postTo(h.app.url, token, read())).body;
    const bad = (await postTo(h.app.url, token, read({ fail: true }))).body;
    for (const [id, status] of [[ok.id, 'committed'], [bad.id, 'failed']] as const) {
      await eventually(async () => (await h.get(`/v1/actions/${id}`, token)).body.status === status, 10_000, `${id} ${status}`);
    }
    expect(await reservationState(ok.id)).toEqual(['spent']);
    expect(await reservationState(bad.id)).toEqual(['released']);
    expect(await counter('daily-reads', agent.id)).toEqual({ reserved: 0, spent: 1 });
    // Spent counts against the day; given back does not: 3 more fit, the 5th of the day does not.
    for (let i = 0; i < 3; i++) expect((await postTo(h.app.url, token, read())).status).toBe(201);
    expect((await postTo(h.app.url, token, read())).status).toBe(429);
  });

  it('gives back on expired, cancelled and refused, once', async () => {
    const { token, agent } = await addAgent(h);
    const task = await openTask(token);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await postTo(h.app.url, token, jobRun(task))).body.id);
    expect(await counter('task-steps', `${agent.id}/${task}`)).toEqual({ reserved: 3, spent: 0 });

    await h.db.db.update(actions).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(actions.id, ids[0]!));
    expect(await expirePendingApprovals(h.db.db)).toContain(ids[0]);
    await h.db.db.transaction(async (tx) => {
      await transitionAction(tx, ids[1]!, ['pending_approval'], 'cancelled');
      await transitionAction(tx, ids[2]!, ['pending_approval'], 'approved');
    });
    expect(await reservationState(ids[2]!)).toEqual(['reserved']);
    await h.db.db.transaction((tx) => transitionAction(tx, ids[2]!, ['approved'], 'refused'));
    // A transition that finds the wrong state changes nothing, and settles nothing twice.
    await h.db.db.transaction((tx) => transitionAction(tx, ids[2]!, ['approved'], 'failed'));
    for (const id of ids) expect(await reservationState(id)).toEqual(['released']);
    expect(await counter('task-steps', `${agent.id}/${task}`)).toEqual({ reserved: 0, spent: 0 });
  });
});
