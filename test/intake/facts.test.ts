import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFileConfig } from '../../src/config/file-config';
import { createAgent } from '../../src/auth/agents';
import { decideApproval } from '../../src/approvals/decide';
import { loadPolicyBundle } from '../../src/policy';
import { actions } from '../../src/db/schema';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, EXECUTOR_SECRET, actionRequest, startHarness, type Harness } from '../support/harness';

/**
 * Issue #14's bypasses, each as it was found: the agent's `context` is a claim, never a fact; counts must be
 * counts; the human behind a request cannot approve it, however the id is spelled; and per-task budgets
 * count against tasks the server opened, not ids the agent invents.
 */
let h: Harness;
let refunds: Harness;
let policyDir: string;

beforeAll(async () => {
  h = await startHarness({
    configFor: (url) =>
      parseFileConfig(
        `
approver_groups:
  automation-ops: { channel: ${AUTOMATION_OPS_CHANNEL}, members: [${ALICE}, ${BOB}] }
executors:
  - name: automation
    action_classes: ["external_automation.*"]
    url: ${url}
    secret: \${EXECUTOR_SECRET}
budgets:
  - { name: task-steps, per: task, max: 2, action_classes: ["external_automation.job.*"] }
`,
        { EXECUTOR_SECRET },
      ),
  });
  policyDir = mkdtempSync(join(tmpdir(), 'refund-policy-'));
  writeFileSync(join(policyDir, 'payments-refunds.yaml'), readFileSync('docs/policy-examples/payments-refunds.yaml', 'utf8'));
  refunds = await startHarness({
    scopes: ['payments.*'],
    env: { COUNTERSIGN_POLICIES: policyDir },
    configFor: (url) =>
      parseFileConfig(
        `
approver_groups:
  payments-leads: { channel: C0PAYLEADS, members: [${ALICE}, ${BOB}] }
executors:
  - name: payments
    action_classes: ["payments.*"]
    url: ${url}
    secret: \${EXECUTOR_SECRET}
`,
        { EXECUTOR_SECRET },
      ),
  });
});
afterAll(async () => {
  await h?.close();
  await refunds?.close();
  rmSync(policyDir, { recursive: true, force: true });
});

describe('context is a claim, never a fact', () => {
  it('a claim of 1 target beside params of 40 is denied for the contradiction, and the problem body says so', async () => {
    const res = await h.post(actionRequest({ params: { name: 'wf', target_count: 40 }, context: { target_count: 1 } }));
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      code: 'policy-denied',
      claim_conflicts: [{ claim: 'context.target_count', fact: 'params.target_count', claimed: 1, actual: 40 }],
      decision: { decision: 'deny', rule_id: null },
    });
    expect(res.body.detail).toContain("the agent's claims contradict the facts");
    const decided = await h.events(res.body.action_id, 'policy.decided');
    expect(decided[0]!.data).toMatchObject({ claim_conflicts: [{ claim: 'context.target_count', claimed: 1, actual: 40 }] });
  });

  it('a claim alone is no fact: context target_count -40 or 1 without a count in the payload fails closed', async () => {
    for (const claimed of [-40, 1]) {
      const res = await h.post(actionRequest({ params: { name: 'wf' }, context: { target_count: claimed } }));
      expect(res.status).toBe(403);
      expect(res.body.decision.rule_id).toBe('deny-high-target-count-automation');
      expect(res.body.detail).toContain('(target_count missing: failing closed)');
    }
  });

  it('a negative or fractional count in params is not a count: denied', async () => {
    for (const count of [-40, 2.5]) {
      const res = await h.post(actionRequest({ params: { name: 'wf', target_count: count } }));
      expect(res.status).toBe(403);
      expect(res.body.detail).toContain('is not a count');
    }
  });

  it('a refund of 5000 stays denied with a claim of 5, and nothing reaches the executor', async () => {
    const before = refunds.executor.calls.length;
    const denied = await refunds.post(actionRequest({ action_class: 'payments.refund.create', params: { amount: 5000, currency: 'EUR' } }));
    expect(denied.status).toBe(403);
    const talked = await refunds.post(actionRequest({ action_class: 'payments.refund.create', params: { amount: 5000, currency: 'EUR' }, context: { amount: 5 } }));
    expect(talked.status).toBe(403);
    expect(talked.body.claim_conflicts).toEqual([{ claim: 'context.amount', fact: 'params.amount', claimed: 5, actual: 5000 }]);
    const small = await refunds.post(actionRequest({ action_class: 'payments.refund.create', params: { amount: 50, currency: 'EUR' }, context: { note: 'customer asked twice' } }));
    expect(small.status).toBe(201);
    expect(small.body.status).toBe('queued');
    expect(refunds.executor.calls.slice(before).every((c) => (c.body.params as { amount: number }).amount === 50)).toBe(true);
  });

  it('property: a context that contradicts no fact never changes the decision, and one that does only ever denies', async () => {
    const loaded = await loadPolicyBundle('policies');
    if (!loaded.ok) throw new Error('seed policy does not load');
    const bundle = loaded.bundle;
    const classes = ['external_automation.workflow.create', 'external_automation.job.run', 'external_automation.read.jobs', 'external_automation.credentials.read'];
    const scalar = fc.oneof(fc.integer({ min: -100, max: 100 }), fc.string({ maxLength: 8 }), fc.boolean(), fc.constant(null));
    fc.assert(
      fc.property(
        fc.constantFrom(...classes),
        fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
        fc.dictionary(fc.constantFrom('target_count', 'amount', 'environment', 'note', 'action_class', 'priority'), scalar),
        (actionClass, count, context) => {
          const params = count === undefined ? {} : { target_count: count };
          const plain = bundle.evaluate({ action_class: actionClass, params });
          const claimed = bundle.evaluate({ action_class: actionClass, params, context });
          const contradicts = Object.keys(context).some((k) => k in params && (params as Record<string, unknown>)[k] !== context[k]);
          if (contradicts) expect(claimed).toMatchObject({ decision: 'deny', rule_id: null });
          else expect(claimed).toEqual(plain);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('the human behind the request', () => {
  it('on_behalf_of is normalised, so "u0bob" cannot approve as U0BOB', async () => {
    const res = await h.post(actionRequest({ on_behalf_of: 'u0bob' }));
    expect(res.status).toBe(201);
    expect(res.body.on_behalf_of).toBe(BOB);
    const [row] = await h.db.db.select().from(actions).where(eq(actions.id, res.body.id));
    expect(row!.onBehalfOf).toBe(BOB);
    for (const spelling of [BOB, 'u0bob']) {
      const out = await decideApproval(h.db.db, async () => 'approver', { actionId: row!.id, userId: spelling, verdict: 'approve', shownPayloadHash: row!.payloadHash });
      expect(out).toMatchObject({ kind: 'refused', reason: 'requester' });
    }
    const alice = await decideApproval(h.db.db, async () => 'approver', { actionId: row!.id, userId: ALICE, verdict: 'approve', shownPayloadHash: row!.payloadHash });
    expect(alice.kind).toBe('approved');
  });

  it('on_behalf_of that is not a Slack user id is 422, nothing recorded', async () => {
    for (const bad of ['<!here>', 'bob', 'C0AUTOOPS', '']) {
      const body = actionRequest({ on_behalf_of: bad });
      const res = await h.post(body);
      expect(res.status).toBe(422);
      expect(res.body.errors.some((e: { path: string }) => e.path === 'on_behalf_of')).toBe(true);
    }
  });

  it("an agent's owner can never approve its actions, in any spelling, even when the agent names nobody", async () => {
    for (const owner of ['U0BOB', '<@U0BOB>', 'u0bob']) {
      const { token } = await createAgent(h.db.db, { name: `owned-${Math.random().toString(36).slice(2, 8)}`, owner, scopes: ['external_automation.*'] }, 'admin:test');
      const res = await h.post(actionRequest(), { token });
      expect(res.status).toBe(201);
      const out = await decideApproval(h.db.db, async () => 'approver', { actionId: res.body.id, userId: BOB, verdict: 'approve', shownPayloadHash: res.body.payload_hash });
      expect(out).toMatchObject({ kind: 'refused', reason: 'owner' });
    }
  });

  it('an owner that is a Slack user group: its members cannot approve', async () => {
    const { token } = await createAgent(h.db.db, { name: `group-owned-${Math.random().toString(36).slice(2, 8)}`, owner: '<!subteam^S0PLATFORM>', scopes: ['external_automation.*'] }, 'admin:test');
    const res = await h.post(actionRequest(), { token });
    const check = Object.assign(async () => 'approver' as const, { usergroupMembers: async (id: string) => new Set(id === 'S0PLATFORM' ? [BOB] : []) });
    expect(await decideApproval(h.db.db, check, { actionId: res.body.id, userId: BOB, verdict: 'approve', shownPayloadHash: res.body.payload_hash })).toMatchObject({ kind: 'refused', reason: 'owner' });
    expect((await decideApproval(h.db.db, check, { actionId: res.body.id, userId: ALICE, verdict: 'approve', shownPayloadHash: res.body.payload_hash })).kind).toBe('approved');
  });
});

describe('tasks the server issues', () => {
  const jobRun = (extra: Record<string, unknown> = {}) => actionRequest({ action_class: 'external_automation.job.run', params: { target_count: 1 }, ...extra });
  async function openTask(token = h.token) {
    const res = await fetch(`${h.app.url}/v1/tasks`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"description":"nightly run"}' });
    return { status: res.status, body: (await res.json()) as Record<string, any>, location: res.headers.get('location') };
  }

  it('a new correlation_id is no fresh budget: actions without a task share the agent\'s task-less budget of the day', async () => {
    const { token } = await createAgent(h.db.db, { name: `corr-${Math.random().toString(36).slice(2, 8)}`, scopes: ['external_automation.*'] }, 'admin:test');
    for (let i = 0; i < 2; i++) expect((await h.post(jobRun({ correlation_id: `fresh-${i}` }), { token })).status).toBe(201);
    const third = await h.post(jobRun({ correlation_id: 'fresh-2' }), { token });
    expect(third.status).toBe(429);
    expect(third.body).toMatchObject({ code: 'budget-exhausted', budget: { name: 'task-steps', scope: { task_id: null } } });
  });

  it('opens a task with its budgets; its actions count against it; a closed or foreign task is refused', async () => {
    const opened = await openTask();
    expect(opened.status).toBe(201);
    expect(opened.location).toBe(`/v1/tasks/${opened.body.id}`);
    expect(opened.body).toMatchObject({ status: 'open', description: 'nightly run', budgets: [{ name: 'task-steps', max: 2 }] });
    const id = opened.body.id as string;
    for (let i = 0; i < 2; i++) expect((await h.post(jobRun({ task_id: id }))).status).toBe(201);
    expect((await h.post(jobRun({ task_id: id }))).body).toMatchObject({ code: 'budget-exhausted', budget: { scope: { task_id: id } } });

    const { token: other } = await createAgent(h.db.db, { name: `other-${Math.random().toString(36).slice(2, 8)}`, scopes: ['external_automation.*'] }, 'admin:test');
    expect((await h.post(jobRun({ task_id: id }), { token: other })).body).toMatchObject({ code: 'task-not-open' });
    expect((await h.post(jobRun({ task_id: 'tsk_made_up' }))).status).toBe(409);

    const closed = await fetch(`${h.app.url}/v1/tasks/${id}/close`, { method: 'POST', headers: { authorization: `Bearer ${h.token}` } });
    expect(((await closed.json()) as { status: string }).status).toBe('closed');
    expect((await h.post(jobRun({ task_id: id }))).body).toMatchObject({ code: 'task-not-open', task_status: 'closed' });
  });

  it('limits the tasks an agent holds open', async () => {
    const { token } = await createAgent(h.db.db, { name: `many-${Math.random().toString(36).slice(2, 8)}`, scopes: ['external_automation.*'] }, 'admin:test');
    const limit = h.app.config.tasks.max_open_per_agent;
    // Concurrent opens serialise on the agent's row: exactly `limit` succeed, whatever the interleaving.
    const opened = await Promise.all(Array.from({ length: limit + 3 }, () => openTask(token)));
    expect(opened.filter((o) => o.status === 201)).toHaveLength(limit);
    expect(opened.filter((o) => o.status !== 201).map((o) => o.body.code)).toEqual(['task-limit', 'task-limit', 'task-limit']);
  });
});
