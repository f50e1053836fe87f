import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { actions } from '../../src/db/schema';
import { createAgent } from '../../src/auth/agents';
import { decideApproval } from '../../src/approvals/decide';
import { expirePendingApprovals } from '../../src/approvals/expire';
import { killAgent } from '../../src/controls/kill-switch';
import { verifyChain } from '../../src/audit/verify';
import { runAuditCommand } from '../../src/cli/audit';
import { REDACTED } from '../../src/audit/redact';
import { ALICE, actionRequest, eventually, startHarness, type Harness } from '../support/harness';
import { captureIo } from './support';

let h: Harness;
const saved = process.env.DATABASE_URL;
// Any Slack user counts as an approver here; who may approve is tested with the approvals.
const anyone = (async () => 'approver') as unknown as Parameters<typeof decideApproval>[1];

beforeAll(async () => {
  h = await startHarness({
    executor: {
      respond: (call) =>
        (call.body.params as Record<string, unknown>)?.fail ? { status: 422, body: { error: 'workflow name taken' } } : { status: 200, body: { ok: true, workflow_id: 'wf_1' } },
    },
  });
  process.env.DATABASE_URL = h.db.url;
});
afterAll(async () => {
  if (saved === undefined) delete process.env.DATABASE_URL;
  else process.env.DATABASE_URL = saved;
  await h.close();
});

type Ev = { type: string; actor: string; action_id: string; correlation_id: string; agent_id: string; policy_version: string; data: Record<string, any> };

/** The chain of one action as `countersign audit show --json` gives it, checked for the envelope every event must carry. */
async function chainOf(id: string, correlationId: string): Promise<Ev[]> {
  const io = captureIo();
  expect(await runAuditCommand(['show', id, '--json'], io)).toBe(0);
  const { events } = JSON.parse(io.out[0]!) as { events: Ev[] };
  for (const e of events) {
    expect(e.action_id).toBe(id);
    expect(e.correlation_id).toBe(correlationId);
    expect(e.agent_id).toMatch(/^agt_/);
    expect(e.policy_version).toBeTruthy();
    expect(e.actor).toMatch(/^(agent:agt_|slack:U|admin:|system$)/);
  }
  return events;
}

async function statusOf(id: string, want: string) {
  return eventually(async () => {
    const [row] = await h.db.db.select({ status: actions.status }).from(actions).where(eq(actions.id, id));
    return row?.status === want ? row : null;
  }, 15_000, `${id} ${want}`);
}

/**
 * Event types in order. `commit.queued` is left out: the relay enqueues before it records the hand-over,
 * so a fast worker may claim the action first and the relay's conditional transition then (rightly) does nothing.
 */
const types = (events: Ev[]) => {
  expect(events.filter((e) => e.type === 'commit.queued').length).toBeLessThanOrEqual(1);
  return events.map((e) => e.type).filter((t) => t !== 'commit.queued');
};

describe('the chain of every flow reads back complete', () => {
  it('allowed by policy and committed', async () => {
    const req = actionRequest({ action_class: 'external_automation.read.jobs', context: {}, params: { job: 'nightly', api_token: 'sk-secret-1' } });
    const res = await h.post(req);
    await statusOf(res.body.id, 'committed');
    const events = await eventually(async () => {
      const ev = await chainOf(res.body.id, String(req.correlation_id));
      return ev.some((e) => e.type === 'commit.succeeded') ? ev : null;
    });
    expect(types(events)).toEqual(['action.requested', 'policy.decided', 'action.approved', 'commit.started', 'commit.succeeded']);
    const [requested, decided, approved, started, succeeded] = events.filter((e) => e.type !== 'commit.queued');
    // Request context: who asked, for what, why; the secret parameter never reached the log.
    expect(requested!.actor).toBe(`agent:${h.agentId}`);
    expect(requested!.data).toMatchObject({ agent_name: 'deploy-bot', agent_owner: 'platform', action_class: 'external_automation.read.jobs', justification: req.justification, payload_hash: res.body.payload_hash });
    expect(requested!.data.params).toEqual({ job: 'nightly', api_token: REDACTED });
    // Decision point and rationale.
    expect(decided!.data).toMatchObject({ decision: 'allow', rule_id: 'allow-automation-readonly' });
    expect(typeof decided!.data.reasoning).toBe('string');
    expect(approved!.data).toMatchObject({ by: 'policy' });
    // Executed action and tool surface, and what came back.
    expect(started!.data.tool).toMatchObject({ kind: 'http', method: 'POST', action_class: 'external_automation.read.jobs', idempotency_key: res.body.id });
    expect(started!.data.tool.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/execute$/);
    expect(succeeded!.data).toMatchObject({ status: 200, result: { ok: true, workflow_id: 'wf_1' } });
  });

  it('denied by policy', async () => {
    const req = actionRequest({ params: { name: 'n', target_count: 40 } });
    const res = await h.post(req);
    expect(res.status).toBe(403);
    const events = await chainOf(res.body.action_id, String(req.correlation_id));
    expect(types(events)).toEqual(['action.requested', 'policy.decided']);
    expect(events[1]!.data).toMatchObject({ decision: 'deny', rule_id: 'deny-high-target-count-automation', status: 'denied' });
  });

  it('escalated, approved by a human, committed', async () => {
    const req = actionRequest({ on_behalf_of: 'U0REQUESTER' });
    const res = await h.post(req);
    expect(res.body.status).toBe('pending_approval');
    const outcome = await decideApproval(h.db.db, anyone, { actionId: res.body.id, userId: ALICE, verdict: 'approve', reason: 'checked the schedule', shownPayloadHash: res.body.payload_hash });
    expect(outcome.kind).toBe('approved');
    await statusOf(res.body.id, 'committed');
    const events = await eventually(async () => {
      const ev = await chainOf(res.body.id, String(req.correlation_id));
      return ev.some((e) => e.type === 'commit.succeeded') ? ev : null;
    });
    expect(types(events)).toEqual(['action.requested', 'policy.decided', 'approval.recorded', 'action.approved', 'commit.started', 'commit.succeeded']);
    expect(events[0]!.data.on_behalf_of).toBe('U0REQUESTER');
    expect(events[1]!.data.escalation).toMatchObject({ via: 'automation-ops' });
    // Approvals: who, when, why, threshold and quorum.
    expect(events[2]).toMatchObject({ actor: `slack:${ALICE}`, data: { verdict: 'approve', reason: 'checked the schedule', group: 'automation-ops', approvals: 1, required: 1, payload_hash: res.body.payload_hash } });
    expect(events[3]).toMatchObject({ actor: `slack:${ALICE}`, data: { by: 'humans', approvers: [`slack:${ALICE}`], quorum: 1 } });
  });

  it('denied by a human, with the reason', async () => {
    const req = actionRequest();
    const res = await h.post(req);
    const outcome = await decideApproval(h.db.db, anyone, { actionId: res.body.id, userId: ALICE, verdict: 'deny', reason: 'not during the freeze', shownPayloadHash: res.body.payload_hash });
    expect(outcome.kind).toBe('denied');
    const events = await chainOf(res.body.id, String(req.correlation_id));
    expect(types(events)).toEqual(['action.requested', 'policy.decided', 'approval.recorded', 'action.denied']);
    expect(events[3]).toMatchObject({ actor: `slack:${ALICE}`, data: { reason: 'not during the freeze' } });
  });

  it('expired without a decision', async () => {
    const req = actionRequest();
    const res = await h.post(req);
    await h.db.db.update(actions).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(actions.id, res.body.id));
    await expirePendingApprovals(h.db.db);
    await statusOf(res.body.id, 'expired');
    const events = await chainOf(res.body.id, String(req.correlation_id));
    expect(types(events)).toEqual(['action.requested', 'policy.decided', 'action.expired']);
    expect(events[2]!.actor).toBe('system');
  });

  it('cancelled by the kill switch', async () => {
    const { token } = await createAgent(h.db.db, { name: 'doomed-bot', owner: 'platform', scopes: ['external_automation.*'] }, 'admin:test');
    const req = actionRequest();
    const res = await h.post(req, { token });
    expect(res.body.status).toBe('pending_approval');
    await killAgent(h.db.db, 'doomed-bot', 'admin:test', 'runaway loop');
    const events = await chainOf(res.body.id, String(req.correlation_id));
    expect(types(events)).toEqual(['action.requested', 'policy.decided', 'action.cancelled']);
    expect(events[2]!.actor).toBe('admin:test');
  });

  it('failed at the executor, with an exception_record and its mitigation', async () => {
    const req = actionRequest({ params: { name: 'taken', fail: true, target_count: 3 } });
    const res = await h.post(req);
    await decideApproval(h.db.db, anyone, { actionId: res.body.id, userId: ALICE, verdict: 'approve', shownPayloadHash: res.body.payload_hash });
    await statusOf(res.body.id, 'failed');
    const events = await eventually(async () => {
      const ev = await chainOf(res.body.id, String(req.correlation_id));
      return ev.some((e) => e.type === 'exception_record') ? ev : null;
    });
    expect(types(events)).toEqual(['action.requested', 'policy.decided', 'approval.recorded', 'action.approved', 'commit.started', 'commit.failed', 'exception_record']);
    expect(events.at(-1)!.data).toMatchObject({ kind: 'executor_rejected' });
    expect(events.at(-1)!.data.mitigation).toEqual(expect.any(String));
  });

  it('the timeline reads as sentences, and the whole chain verifies', async () => {
    const [row] = await h.db.db.select({ id: actions.id }).from(actions).where(eq(actions.status, 'committed')).limit(1);
    const io = captureIo();
    expect(await runAuditCommand(['show', row!.id], io)).toBe(0);
    expect(io.text()).toMatch(/policy decided allow|policy decided escalate/);
    expect(io.text()).toMatch(/executor automation answered 200/);
    expect(await runAuditCommand(['show', 'act_nope'], captureIo())).toBe(1);
    const r = await verifyChain(h.db.db);
    expect(r.ok).toBe(true);
    expect(r.checked).toBeGreaterThan(30);
  });

  it('policy loads are in the version log', async () => {
    const [loaded] = await h.db.sql<{ n: number }[]>`select count(*)::int as n from audit_events where type = 'policy.loaded'`;
    const [versions] = await h.db.sql<{ n: number }[]>`select count(*)::int as n from policy_versions where outcome = 'loaded'`;
    expect(loaded!.n).toBeGreaterThanOrEqual(1);
    expect(loaded!.n).toBe(versions!.n);
  });
});
