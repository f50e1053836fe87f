import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { actions } from '../../src/db/schema';
import { parseFileConfig } from '../../src/config/file-config';
import { fileRollback, type RollbackDeps } from '../../src/rollback/file';
import { compensationProblem, buildCompensation } from '../../src/contracts/compensation';
import { compileContracts } from '../../src/contracts/validate';
import { APPROVE_ACTION_ID, ROLLBACK_ACTION_ID } from '../../src/slack/interaction-ids';
import { describeEvent } from '../../src/audit/timeline';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, MALLORY, actionRequest, eventually } from '../support/harness';
import { blockText, slackTestConfig, startSlackHarness, waitForCard, type SlackHarness } from '../support/slack';

const ROLLBACK_POLICY = `
name: rollback-tests
version: "1"
rules:
  - id: ops-decides
    applies_to: { action_class: [external_automation.workflow.create, external_automation.workflow.remove, external_automation.job.create] }
    decision: escalate
    escalation: { via: automation-ops }
    reasoning: automation-ops decides workflow changes.
`;

const CONTRACTS = `
    contracts:
      external_automation.workflow.create:
        type: object
        properties: { name: { type: string }, schedule: { type: string }, target_count: { type: integer } }
        required: [name]
        compensate:
          action_class: external_automation.workflow.remove
          params: { workflow_id: "{{result.workflow_id}}", name: "{{params.name}}", note: "undo of {{params.name}}" }
      external_automation.workflow.remove:
        type: object
        properties: { workflow_id: { type: string }, name: { type: string }, note: { type: string } }
        required: [workflow_id]
      external_automation.job.create:
        type: object
        properties: { name: { type: string } }`;

const rollbackConfig = (executorUrl: string) => slackTestConfig(executorUrl, CONTRACTS);

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness({ policy: ROLLBACK_POLICY, configFor: rollbackConfig });
});
afterAll(async () => {
  await h?.close();
});

/** Files, approves (Alice) and waits for the commit and its thread reply. */
async function committed(req: Record<string, unknown>) {
  const created = await h.post(req);
  const id: string = created.body.id;
  const card = await waitForCard(h, id);
  await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
  await eventually(async () => ((await h.status(id)) === 'committed' ? true : null), 15_000, 'committed');
  const reply = await h.slack.waitForMessage(AUTOMATION_OPS_CHANNEL, (m) => m.thread_ts === card.ts && m.ts !== card.ts, { timeoutMs: 10_000, description: 'outcome reply' });
  return { id, card, reply };
}

async function ephemeral(user: string, pattern: RegExp) {
  return h.slack.waitFor(() => h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, user).find((e) => pattern.test(e.text)), { timeoutMs: 10_000, description: `ephemeral ${pattern}` });
}

describe('rollback', () => {
  it('"Roll back" files the compensating action through intake and policy, on behalf of who pressed, linked in the audit chain', async () => {
    const { id, reply } = await committed(actionRequest({ params: { name: 'nightly', schedule: '0 3 * * *', target_count: 2 } }));
    expect(blockText(reply.blocks)).toContain(ROLLBACK_ACTION_ID);
    const original = (await h.get(`/v1/actions/${id}`)).body;
    const workflowId = (original.result as { workflow_id: string }).workflow_id;

    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: reply.ts, actionId: ROLLBACK_ACTION_ID, user: BOB });
    const told = await ephemeral(BOB, /Rollback filed as/);
    const rollbackId = /`(act_[a-z0-9]+)`/.exec(told.text)![1]!;
    const [row] = await h.db.db.select().from(actions).where(eq(actions.id, rollbackId));
    expect(row).toMatchObject({
      rollbackOf: id,
      onBehalfOf: BOB,
      actionClass: 'external_automation.workflow.remove',
      params: { workflow_id: workflowId, name: 'nightly', note: 'undo of nightly' },
      correlationId: original.correlation_id,
      agentId: original.agent_id,
      status: 'pending_approval',
      ruleId: 'ops-decides',
    });
    expect((await h.get(`/v1/actions/${rollbackId}`)).body.rollback_of).toBe(id);
    const [linked] = await h.events(id, 'rollback.requested');
    expect(linked).toMatchObject({ actor: `slack:${BOB}`, data: { rollback_action_id: rollbackId, action_class: 'external_automation.workflow.remove' } });
    expect(describeEvent({ type: linked!.type, actor: linked!.actor, data: linked!.data })).toContain(`compensating action ${rollbackId}`);
    expect((await h.events(rollbackId, 'action.requested'))[0]!.data).toMatchObject({ rollback_of: id, on_behalf_of: BOB });

    // Approvable like any request, but never by the person it acts for.
    const card = await waitForCard(h, rollbackId);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: BOB });
    await eventually(async () => ((await h.events(rollbackId, 'approval.refused')).length ? true : null), 10_000, 'requester refused');
    expect((await h.events(rollbackId, 'approval.refused'))[0]!.data).toMatchObject({ reason: 'requester' });
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
    await eventually(async () => ((await h.status(rollbackId)) === 'committed' ? true : null), 15_000, 'rollback committed');
    const call = h.executor.calls.find((c) => c.body.action_id === rollbackId)!;
    expect(call.body).toMatchObject({ action_class: 'external_automation.workflow.remove', params: { workflow_id: workflowId } });
  });

  it('is idempotent: pressed twice, and by two people at once, there is one rollback', async () => {
    const { id, reply } = await committed(actionRequest({ params: { name: 'twice', schedule: '0 4 * * *', target_count: 1 } }));
    await Promise.all([
      h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: reply.ts, actionId: ROLLBACK_ACTION_ID, user: BOB }),
      h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: reply.ts, actionId: ROLLBACK_ACTION_ID, user: ALICE }),
    ]);
    await ephemeral(BOB, /Rollback filed as|already filed/);
    await ephemeral(ALICE, /Rollback filed as|already filed/);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: reply.ts, actionId: ROLLBACK_ACTION_ID, user: BOB });
    await h.slack.waitFor(() => h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, BOB).filter((e) => /already filed/.test(e.text)).length >= 1 || undefined, { description: 'already filed' });
    const rollbacks = await h.db.db.select().from(actions).where(eq(actions.rollbackOf, id));
    expect(rollbacks).toHaveLength(1);
    expect(await h.events(id, 'rollback.requested')).toHaveLength(1);
  });

  it('is refused for outsiders, for actions whose contract names none, and for actions that did not commit', async () => {
    const { id, reply } = await committed(actionRequest({ params: { name: 'guarded', schedule: '0 5 * * *', target_count: 1 } }));
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: reply.ts, actionId: ROLLBACK_ACTION_ID, user: MALLORY });
    await ephemeral(MALLORY, /Not rolled back: only members of automation-ops/);
    expect(await h.db.db.select().from(actions).where(eq(actions.rollbackOf, id))).toEqual([]);

    const job = await committed(actionRequest({ action_class: 'external_automation.job.create', params: { name: 'no-undo' } }));
    expect(blockText(job.reply.blocks)).not.toContain(ROLLBACK_ACTION_ID);

    const deps = { db: h.db.db, config: rollbackConfig(h.executor.url), approverStanding: async () => 'approver' as const } as unknown as RollbackDeps;
    expect(await fileRollback(deps, job.id, ALICE)).toMatchObject({ kind: 'refused', reason: 'no-compensation' });
    const pending = await h.post(actionRequest({ params: { name: 'pending', schedule: '0 6 * * *', target_count: 1 } }));
    expect(await fileRollback(deps, pending.body.id, ALICE)).toMatchObject({ kind: 'refused', reason: 'not-committed' });
    expect(await fileRollback(deps, 'act_nope', ALICE)).toMatchObject({ kind: 'refused', reason: 'not-found' });
  });

  it('compensation templates: whole placeholders keep their type, missing values refuse, bad templates stop the boot', () => {
    const c = { action_class: 'a.b', params: { n: '{{params.amount}}', s: 'ref {{result.id}}', deep: ['{{params.nested.x}}'] } };
    expect(buildCompensation(c, { params: { amount: 12.5, nested: { x: true } }, result: { id: 7 } })).toEqual({ n: 12.5, s: 'ref 7', deep: [true] });
    expect(() => buildCompensation(c, { params: { amount: 1 }, result: {} })).toThrow(/needs result.id, params.nested.x/);
    expect(compensationProblem({ action_class: 'not a class', params: {} })).toMatch(/action_class/);
    expect(compensationProblem({ action_class: 'a.b', params: { x: '{{context.secret}}' } })).toMatch(/placeholders must be/);
    const bad = parseFileConfig(
      `executors: [{ name: e, action_classes: ["a.*"], url: "http://127.0.0.1:9/x", secret: "0123456789abcdef0123", contracts: { a.b: { type: object, compensate: { action_class: nope } } } }]`,
      {},
    );
    expect(() => compileContracts(bad)).toThrow(/compensate/);
  });
});
