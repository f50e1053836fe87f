import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { actions, budgetCounters } from '../../src/db/schema';
import { parseFileConfig } from '../../src/config/file-config';
import { createAgent } from '../../src/auth/agents';
import { APPROVE_ACTION_ID, DENY_ACTION_ID, DENY_REASON_BLOCK, DENY_REASON_INPUT, DENY_VIEW_ID, EDIT_ACTION_ID, EDIT_PARAMS_BLOCK, EDIT_PARAMS_INPUT, EDIT_VIEW_ID } from '../../src/slack/interaction-ids';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, actionRequest, eventually } from '../support/harness';
import { CAROL, ON_CALL_CHANNEL, blockText, slackTestConfig, startSlackHarness, waitForCard, waitForCardState, type SlackHarness } from '../support/slack';

const OVERRUN_POLICY = `
name: overrun-tests
version: "1"
rules:
  - id: refunds-allowed
    applies_to: { action_class: [external_automation.refund.issue, external_automation.credit.issue] }
    decision: allow
    reasoning: Refunds within budget are routine.
  - id: big-refunds-on-call
    applies_to: { action_class: [external_automation.refund.large] }
    decision: escalate
    escalation: { via: on-call }
    reasoning: Large refunds need on-call.
`;

const overrunConfig = (executorUrl: string) =>
  slackTestConfig(
    executorUrl,
    `budgets:
  - { name: refunds, per: agent_day, max: 1000, sum: params.amount, unit: EUR, action_classes: ["external_automation.refund.*"], on_exceed: escalate, via: automation-ops }
  - { name: credits, per: agent_day, max: 100, sum: params.amount, unit: EUR, action_classes: ["external_automation.credit.*"] }`,
  );

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness({ policy: OVERRUN_POLICY, configFor: overrunConfig });
});
afterAll(async () => {
  await h?.close();
});

const refund = (amount: number, cls = 'external_automation.refund.issue') => actionRequest({ action_class: cls, params: { order: `o-${Math.random()}`, amount } });

async function counter(name: string) {
  const [row] = await h.db.db.select().from(budgetCounters).where(eq(budgetCounters.budget, name));
  return { reserved: Number(row?.reserved ?? 0), spent: Number(row?.spent ?? 0) };
}

describe('budgets that ask instead of refusing (on_exceed: escalate)', () => {
  it('a request over the budget goes to its group with the budget on the card; an approval admits that one action only', async () => {
    const within = await h.post(refund(600));
    expect(within.body.status).toMatch(/approved|queued/);
    await eventually(async () => ((await h.status(within.body.id)) === 'committed' ? true : null), 15_000, 'within budget committed');

    const over = await h.post(refund(640));
    expect(over.status).toBe(201);
    expect(over.body).toMatchObject({ status: 'pending_approval', decision: { decision: 'escalate', escalation: { via: 'automation-ops', requires: 'budget_overrun' } } });
    expect(over.body.budget_overrun).toMatchObject([{ budget: 'refunds', max: 1000, used: 600, requested: 640, would_be: 1240, unit: 'EUR' }]);
    const card = await waitForCard(h, over.body.id);
    expect(blockText(card.blocks)).toMatch(/Over budget.*this would bring today's total \([0-9-]+ UTC\) to 1,240 of 1,000 EUR/);
    expect((await h.events(over.body.id, 'budget.overrun'))[0]!.data).toMatchObject({ budget: 'refunds', would_be: 1240, asked: 'automation-ops' });

    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
    await eventually(async () => ((await h.status(over.body.id)) === 'committed' ? true : null), 15_000, 'overrun committed');
    const [exception] = await h.events(over.body.id, 'exception_record');
    expect(exception!.data).toMatchObject({ kind: 'budget_overrun', approvers: [`slack:${ALICE}`] });
    expect(await counter('refunds')).toEqual({ reserved: 0, spent: 1240 });

    // Nothing was raised: the next euro asks again.
    const next = await h.post(refund(1));
    expect(next.body.status).toBe('pending_approval');
    expect(next.body.budget_overrun[0]).toMatchObject({ used: 1240, would_be: 1241 });
  });

  it('a denied overrun gives its reservation back; a budget that refuses still answers 429', async () => {
    const before = await counter('refunds');
    const over = await h.post(refund(5000));
    expect(over.body.status).toBe('pending_approval');
    expect((await counter('refunds')).reserved).toBe(before.reserved + 5000);
    const card = await waitForCard(h, over.body.id);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: DENY_ACTION_ID, user: BOB });
    const modal = await h.slack.waitForView((v) => v.isOpen && v.callback_id === DENY_VIEW_ID && v.user === BOB);
    await h.slack.submitView({ viewId: modal.id, user: BOB, values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: 'far too much' } } });
    await eventually(async () => ((await h.status(over.body.id)) === 'denied' ? true : null), 10_000, 'denied');
    expect(await counter('refunds')).toEqual(before);
    expect(await h.events(over.body.id, 'exception_record')).toEqual([]);

    const credit = await h.post(refund(150, 'external_automation.credit.issue'));
    expect(credit.status).toBe(429);
    expect(credit.body.code).toBe('budget-exhausted');
  });

  it('when the policy already escalates, the rule\'s group decides and sees the overrun', async () => {
    const over = await h.post(refund(20_000, 'external_automation.refund.large'));
    expect(over.body).toMatchObject({ status: 'pending_approval', decision: { rule_id: 'big-refunds-on-call', escalation: { via: 'on-call' } } });
    const card = await waitForCard(h, over.body.id, ON_CALL_CHANNEL);
    expect(blockText(card.blocks)).toContain('Over budget');
    await h.slack.clickButton({ channel: ON_CALL_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: CAROL });
    await eventually(async () => ((await h.status(over.body.id)) === 'committed' ? true : null), 15_000, 'committed');
    await waitForCardState(h, ON_CALL_CHANNEL, card.ts, (t) => t.includes('Approved'));
  });

  it('an approver may edit an overrun down to fit: the card and the evidence follow, and no exception is recorded', async () => {
    // Its own agent, so its own budget of the day: 600 spent, then 900 asked (1,500 of 1,000).
    const { agent, token } = await createAgent(h.db.db, { name: 'refund-bot', owner: 'payments', scopes: ['external_automation.*'] }, 'admin:test');
    const statusOf = async (id: string) => (await h.db.db.select({ status: actions.status }).from(actions).where(eq(actions.id, id)))[0]?.status;
    const spent = await h.post(refund(600), { token });
    await eventually(async () => ((await statusOf(spent.body.id)) === 'committed' ? true : null), 15_000, 'spent');
    const over = await h.post(refund(900), { token });
    expect(over.body.budget_overrun).toMatchObject([{ would_be: 1500 }]);
    const card = await waitForCard(h, over.body.id);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: EDIT_ACTION_ID, user: BOB });
    const modal = await h.slack.waitForView((v) => v.isOpen && v.callback_id === EDIT_VIEW_ID && v.user === BOB);
    const submitted = await h.slack.submitView({ viewId: modal.id, user: BOB, values: { [EDIT_PARAMS_BLOCK]: { [EDIT_PARAMS_INPUT]: JSON.stringify({ order: 'o-edited', amount: 300 }) } } });
    expect(submitted.body ? JSON.parse(submitted.body) : {}).not.toHaveProperty('errors');
    await eventually(async () => ((await statusOf(over.body.id)) === 'committed' ? true : null), 15_000, 'committed').catch(async (e: Error) => {
      const evs = await h.events(over.body.id);
      throw new Error(`${e.message}: ${await statusOf(over.body.id)} ${JSON.stringify(evs.map((x) => [x.type, x.data]))}`.slice(0, 3000));
    });
    const view = (await h.get(`/v1/actions/${over.body.id}`, token)).body;
    expect(view.budget_overrun).toBeUndefined();
    expect(view.edited.params).toEqual({ order: 'o-edited', amount: 300 });
    expect(await h.events(over.body.id, 'exception_record')).toEqual([]);
    const [row] = await h.db.db.select().from(budgetCounters).where(eq(budgetCounters.scopeKey, agent.id));
    expect({ reserved: Number(row!.reserved), spent: Number(row!.spent) }).toEqual({ reserved: 0, spent: 900 });
  });

  it('config: on_exceed: escalate needs a configured via group', () => {
    const base = `executors: []\napprover_groups: { ops: { channel: C0OPS, members: [U0ONE] } }\n`;
    expect(() => parseFileConfig(`${base}budgets: [{ name: b, per: agent_day, max: 1, on_exceed: escalate }]`, {})).toThrow(/on_exceed: escalate needs via/);
    expect(() => parseFileConfig(`${base}budgets: [{ name: b, per: agent_day, max: 1, on_exceed: escalate, via: nobody }]`, {})).toThrow(/"nobody" is not configured/);
    expect(() => parseFileConfig(`${base}budgets: [{ name: b, per: agent_day, max: 1, via: ops }]`, {})).toThrow(/only meaningful with on_exceed: escalate/);
    expect(parseFileConfig(`${base}budgets: [{ name: b, per: agent_day, max: 1, on_exceed: escalate, via: ops }]`, {}).budgets[0]).toMatchObject({ on_exceed: 'escalate', via: 'ops' });
  });
});
