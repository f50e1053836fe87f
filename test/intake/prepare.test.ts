import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { parseFileConfig } from '../../src/config/file-config';
import { decideApproval } from '../../src/approvals/decide';
import { actions, auditEvents } from '../../src/db/schema';
import { planHash } from '../../src/executor/prepare';
import { verifyReceipt } from '../../src/receipts';
import { ALICE, AUTOMATION_OPS_CHANNEL, EXECUTOR_SECRET, actionRequest, eventually, startHarness, type Harness } from '../support/harness';
import type { ExecutorCall } from '../support/executor-server';

/**
 * The executor's prepare step (issue #14): its facts decide, its preview and plan hash are shown and signed,
 * release prepares again and refuses a plan that drifted, and every failure of the step fails closed.
 */
type PrepareReply = { status: number; body?: unknown; delayMs?: number };
let prepareReply: (call: ExecutorCall) => PrepareReply;
let h: Harness;

const plan40 = () => ({ status: 200, body: { facts: { target_count: 40 }, preview: 'creates 40 workflows', plan: { workflows: 40 } } });
const plan3 = (tag = 'a') => ({ status: 200, body: { facts: { target_count: 3 }, preview: `creates 3 workflows (${tag})`, plan: { workflows: 3, tag } } });

beforeAll(async () => {
  h = await startHarness({
    executor: {
      respond: (call) => (call.body.mode === 'prepare' ? prepareReply(call) : { status: 200, body: { ok: true } }),
    },
    configFor: (url) =>
      parseFileConfig(
        `
approver_groups:
  automation-ops: { channel: ${AUTOMATION_OPS_CHANNEL}, members: [${ALICE}] }
executors:
  - name: automation
    action_classes: ["external_automation.*"]
    url: ${url}
    prepare_url: ${url.replace('/execute', '/prepare')}
    prepare_timeout_ms: 300
    secret: \${EXECUTOR_SECRET}
    max_attempts: 2
    timeout_ms: 2000
`,
        { EXECUTOR_SECRET },
      ),
  });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(() => {
  prepareReply = () => plan3();
});

const prepareCalls = () => h.executor.calls.filter((c) => c.body.mode === 'prepare');
const commitCalls = (id: string) => h.executor.calls.filter((c) => c.body.mode === undefined && c.body.action_id === id);
const noTargets = () => actionRequest({ params: { name: 'wf' } });

describe('prepare: the executor says what will happen, and that decides', () => {
  it('is asked before policy, signed like a commit, with mode prepare; a plan of 40 targets is denied though params say nothing', async () => {
    prepareReply = plan40;
    const before = prepareCalls().length;
    const res = await h.post(noTargets());
    expect(res.status).toBe(403);
    expect(res.body.decision.rule_id).toBe('deny-high-target-count-automation');
    expect(res.body.detail).toContain('40 targets');
    const call = prepareCalls().at(-1)!;
    expect(prepareCalls().length).toBe(before + 1);
    expect(call.signatureValid).toBe(true);
    expect(call.body).toMatchObject({ mode: 'prepare', action_class: 'external_automation.workflow.create', params: { name: 'wf' } });
    const [row] = await h.db.db.select().from(actions).where(eq(actions.id, res.body.action_id));
    expect(row).toMatchObject({ status: 'denied', planHash: planHash({ workflows: 40 }) });
  });

  it('the plan first, then params: params saying 3 do not hide a plan of 40', async () => {
    prepareReply = plan40;
    const res = await h.post(actionRequest({ params: { name: 'wf', target_count: 3 } }));
    expect(res.status).toBe(403);
    expect(res.body.decision.rule_id).toBe('deny-high-target-count-automation');
  });

  it('puts the preview and the plan hash on the card, in the receipt and in the audit trail, and the approval binds to them', async () => {
    prepareReply = () => plan3('card');
    const res = await h.post(noTargets());
    expect(res.status).toBe(201);
    expect(res.body.status).toBe('pending_approval');
    const hash = planHash({ workflows: 3, tag: 'card' });
    expect(res.body.plan_hash).toBe(hash);
    expect(res.body.prepared).toMatchObject({ facts: { target_count: 3 }, preview: 'creates 3 workflows (card)', plan_hash: hash });
    expect(res.body.receipt.payload.plan_hash).toBe(hash);
    expect(verifyReceipt(res.body.receipt, await receiptKeys())).toMatchObject({ ok: true });
    const prepared = await h.events(res.body.id, 'action.prepared');
    expect(prepared[0]!.data).toMatchObject({ plan_hash: hash, preview: 'creates 3 workflows (card)', facts: { target_count: 3 } });
    const decided = await h.events(res.body.id, 'policy.decided');
    expect(decided[0]!.data).toMatchObject({ facts: { plan: { target_count: 3 } } });

    const { approvalCard } = await import('../../src/slack/blocks/approval-card');
    const [row] = await h.db.db.select().from(actions).where(eq(actions.id, res.body.id));
    const text = JSON.stringify(approvalCard(row!, { name: 'deploy-bot', owner: 'platform' }).blocks);
    expect(text).toContain('creates 3 workflows (card)');
    expect(text).toContain(`Plan hash \`${hash.slice(0, 16)}\``);
    expect(text).toContain('3 targets (from the executor)');

    // An approval shown another payload (here: the hash without the plan) is refused as stale.
    const stale = await decideApproval(h.db.db, async () => 'approver', { actionId: row!.id, userId: ALICE, verdict: 'approve', shownPayloadHash: row!.requestHash });
    expect(stale).toMatchObject({ kind: 'refused', reason: 'stale-payload' });
  });

  it('releases when the plan at release is the approved one, and sends the executor the approved plan hash', async () => {
    prepareReply = () => plan3('same');
    const res = await h.post(noTargets());
    const out = await decideApproval(h.db.db, async () => 'approver', { actionId: res.body.id, userId: ALICE, verdict: 'approve', shownPayloadHash: res.body.payload_hash });
    expect(out.kind).toBe('approved');
    await eventually(async () => (await h.status(res.body.id)) === 'committed', 10_000, 'committed');
    const commit = commitCalls(res.body.id);
    expect(commit).toHaveLength(1);
    expect(commit[0]!.body.plan_hash).toBe(planHash({ workflows: 3, tag: 'same' }));
  });

  it('a plan that drifted before release is not executed: plan_drift, an exception record, and the agent sees it', async () => {
    prepareReply = () => plan3('before');
    const res = await h.post(noTargets());
    prepareReply = () => plan3('after');
    await decideApproval(h.db.db, async () => 'approver', { actionId: res.body.id, userId: ALICE, verdict: 'approve', shownPayloadHash: res.body.payload_hash });
    await eventually(async () => (await h.status(res.body.id)) === 'plan_drift', 10_000, 'plan_drift');
    expect(commitCalls(res.body.id)).toHaveLength(0);
    const view = await h.get(`/v1/actions/${res.body.id}`);
    expect(view.body.failure).toMatchObject({ code: 'plan-drift', approved_plan_hash: planHash({ workflows: 3, tag: 'before' }), fresh_plan_hash: planHash({ workflows: 3, tag: 'after' }) });
    const types = (await h.events(res.body.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['commit.plan_drift', 'exception_record']));
  });
});

describe('prepare fails closed, and says whether retrying helps', () => {
  async function refusedWith(reply: PrepareReply, status: number, code: string, retryable: boolean) {
    prepareReply = () => reply;
    const body = noTargets();
    const res = await h.post(body);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ code, retryable });
    // Nothing was recorded or queued; the refusal is evidence.
    expect(await h.db.db.select().from(actions).where(eq(actions.idempotencyKey, body.idempotency_key as string))).toHaveLength(0);
    const refusals = await h.db.db.select().from(auditEvents).where(and(eq(auditEvents.agentId, h.agentId), eq(auditEvents.type, 'request.refused')));
    expect(refusals.some((e) => (e.data as { idempotency_key?: string; reason?: string }).idempotency_key === body.idempotency_key && (e.data as { reason?: string }).reason === code)).toBe(true);
    return res;
  }

  it('a timeout is 503 prepare-unavailable with Retry-After', async () => {
    const res = await refusedWith({ ...plan3(), delayMs: 1_000 }, 503, 'prepare-unavailable', true);
    expect(res.headers.get('retry-after')).toBe('5');
  });
  it('a 5xx is 503 prepare-unavailable', async () => {
    await refusedWith({ status: 500, body: { error: 'boom' } }, 503, 'prepare-unavailable', true);
  });
  it('a 4xx is 422 prepare-refused with the executor answer', async () => {
    const res = await refusedWith({ status: 409, body: { error: 'workflow exists' } }, 422, 'prepare-refused', false);
    expect(res.body).toMatchObject({ executor_status: 409, executor_response: { error: 'workflow exists' } });
  });
  it.each([
    ['not an object', { facts: [], plan: {} }],
    ['no plan', { facts: { target_count: 1 } }],
    ['an unknown member', { facts: {}, plan: {}, extra: 1 }],
    ['a preview that is not text', { facts: {}, plan: {}, preview: { diff: 1 } }],
  ])('a malformed answer (%s) is 502 prepare-malformed', async (_what, body) => {
    await refusedWith({ status: 200, body }, 502, 'prepare-malformed', false);
  });
  it('a replay is answered without asking the executor again', async () => {
    prepareReply = () => plan3('replay');
    const body = noTargets();
    const first = await h.post(body);
    const calls = prepareCalls().length;
    const again = await h.post(body);
    expect(again.status).toBe(first.status);
    expect(again.body.id).toBe(first.body.id);
    expect(prepareCalls().length).toBe(calls);
  });
});

async function receiptKeys() {
  const res = await fetch(`${h.app.url}/.well-known/countersign-keys`);
  return (await res.json()) as Parameters<typeof verifyReceipt>[1];
}
