import { createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { actions, agents, commitOutbox } from '../../src/db/schema';
import { recordOutcome, releaseCommit } from '../../src/release';
import { startReleaseFixture, fixedPolicy, type ReleaseFixture } from './support';

let f: ReleaseFixture;
// Call n of the executor: what to answer, by action (the test executor numbers calls globally).
const plans = new Map<string, Array<{ status: number; delayMs?: number }>>();

beforeAll(async () => {
  f = await startReleaseFixture({
    executor: {
      respond: (call) => {
        const queue = plans.get(String(call.body.action_id));
        return queue?.shift() ?? { status: 200, body: { ok: true } };
      },
    },
  });
});
afterAll(async () => {
  await f.close();
});

/** Approved by humans on a Slack card, whose thread is told the outcome. */
const withCard = { decision: 'escalate', approverGroup: 'automation-ops', approvalsRequired: 1, slackChannel: 'C0AUTOOPS', slackTs: '1700000000.000100' };

const callsFor = (id: string) => f.executor.calls.filter((c) => c.body.action_id === id);

describe('release: outcomes', () => {
  it('commits on 2xx, with the action id as idempotency key and a valid signature', async () => {
    const id = await f.insertApproved();
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'committed' });
    const row = await f.row(id);
    expect(row.status).toBe('committed');
    expect(row.attempts).toBe(1);
    expect(row.leaseExpiresAt).toBeNull();
    const [call] = callsFor(id);
    expect(call!.headers['idempotency-key']).toBe(id);
    expect(call!.body.payload_hash).toBe(row.payloadHash);
    expect(call!.signatureValid).toBe(true);
    expect((await f.events(id)).map((e) => e.type)).toEqual(['commit.started', 'commit.succeeded']);
    // Approved by policy: no card, so no thread to tell and no card job.
    expect(f.announced).not.toContain(id);
  });

  it("tells the approvers' thread when a human-approved action (one with a card) commits", async () => {
    const id = await f.insertApproved(withCard);
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'committed' });
    expect(f.announced).toContain(id);
  });

  it('retries a 5xx (back to queued, attempt counted in Postgres), then commits', async () => {
    const id = await f.insertApproved();
    plans.set(id, [{ status: 503 }]);
    const first = await releaseCommit(f.deps, id);
    expect(first).toMatchObject({ kind: 'retry', attempts: 1 });
    expect((await f.row(id)).status).toBe('queued');
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'committed' });
    expect((await f.row(id)).attempts).toBe(2);
    expect((await f.events(id)).map((e) => e.type)).toEqual(['commit.started', 'commit.retry', 'commit.started', 'commit.succeeded']);
  });

  it('fails at once on a 4xx, with an exception_record and a notice', async () => {
    const id = await f.insertApproved();
    plans.set(id, [{ status: 422 }]);
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'failed' });
    const row = await f.row(id);
    expect(row.status).toBe('failed');
    expect(row.failure).toMatchObject({ code: 'executor-rejected', status: 422 });
    const events = await f.events(id);
    expect(events.map((e) => e.type)).toEqual(['commit.started', 'commit.failed', 'exception_record']);
    expect(events[2]!.data).toMatchObject({ kind: 'executor_rejected' });
    expect(f.announced).toContain(id);
    expect(await releaseCommit(f.deps, id)).toMatchObject({ kind: 'skipped' });
    expect(callsFor(id)).toHaveLength(1);
  });

  it('does not follow a redirect: a 307 is a terminal answer, and nothing is sent elsewhere', async () => {
    let elsewhere = 0;
    const other = createServer((_req, res) => {
      elsewhere++;
      res.writeHead(200).end('{}');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const redirecting = createServer((_req, res) => {
      res.writeHead(307, { location: `http://127.0.0.1:${(other.address() as { port: number }).port}/steal` }).end();
    });
    await new Promise<void>((r) => redirecting.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(redirecting.address() as { port: number }).port}/execute`;
      const deps = { ...f.deps, config: { ...f.config, executors: f.config.executors.map((e) => ({ ...e, url })) } };
      const id = await f.insertApproved();
      expect(await releaseCommit(deps, id)).toEqual({ kind: 'failed' });
      expect((await f.row(id)).failure).toMatchObject({ code: 'executor-rejected', status: 307 });
      expect(elsewhere).toBe(0);
    } finally {
      redirecting.close();
      other.close();
    }
  });

  it('fails when retries are exhausted (max_attempts 3), 408 and 429 counting as retriable', async () => {
    const id = await f.insertApproved();
    plans.set(id, [{ status: 500 }, { status: 429 }, { status: 408 }]);
    expect((await releaseCommit(f.deps, id)).kind).toBe('retry');
    expect((await releaseCommit(f.deps, id)).kind).toBe('retry');
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'failed' });
    const row = await f.row(id);
    expect(row.failure).toMatchObject({ code: 'retries-exhausted', attempts: 3 });
    expect((await f.events(id)).filter((e) => e.type === 'exception_record')[0]!.data).toMatchObject({ kind: 'retries_exhausted' });
  });

  it('treats an executor timeout as retriable', async () => {
    const id = await f.insertApproved();
    plans.set(id, [{ status: 200, delayMs: 2500 }]); // executor timeout_ms is 2000
    expect(await releaseCommit(f.deps, id)).toMatchObject({ kind: 'retry', reason: expect.stringMatching(/timed out/) });
  });
});

describe('release: re-checks', () => {
  it('refuses a payload that no longer hashes to the approved hash, without calling the executor', async () => {
    const id = await f.insertApproved();
    await f.db.db.update(actions).set({ params: { job: 'something-else' } }).where(eq(actions.id, id));
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'refused' });
    expect((await f.row(id)).failure).toMatchObject({ code: 'payload-changed' });
    expect(callsFor(id)).toHaveLength(0);
    expect(f.announced).toContain(id);
  });

  it('refuses an approval older than the default 1 h release window', async () => {
    const id = await f.insertApproved({ approvedAt: new Date(Date.now() - 3601_000) });
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'refused' });
    expect((await f.row(id)).failure).toMatchObject({ code: 'approval-window-passed', reason: expect.stringMatching(/3600 s/) });
    expect(callsFor(id)).toHaveLength(0);
  });

  it('uses the policy release window: 60 s passed refuses, inside it releases', async () => {
    const escalation = { via: 'automation-ops', release_window_seconds: 60 };
    const late = await f.insertApproved({ decision: 'escalate', escalation, approvedAt: new Date(Date.now() - 61_000) });
    const fresh = await f.insertApproved({ decision: 'escalate', escalation, approvedAt: new Date(Date.now() - 30_000) });
    expect(await releaseCommit(f.deps, late)).toEqual({ kind: 'refused' });
    expect((await f.row(late)).failure).toMatchObject({ code: 'approval-window-passed' });
    expect(await releaseCommit(f.deps, fresh)).toEqual({ kind: 'committed' });
  });

  it('refuses what the current policy now denies', async () => {
    const id = await f.insertApproved();
    f.setPolicy(fixedPolicy(f.seed, { decision: 'deny', rule_id: 'deny-everything', reasoning: 'frozen', policy_version: 'v2' }));
    try {
      expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'refused' });
    } finally {
      f.setPolicy(f.seed);
    }
    expect((await f.row(id)).failure).toMatchObject({ code: 'policy-denies', reason: expect.stringMatching(/deny-everything/) });
    expect((await f.events(id)).map((e) => e.type)).toEqual(['commit.refused']);
  });

  it('cancels when the agent was killed, and releases nothing', async () => {
    const { agent } = await import('../../src/auth/agents').then((m) =>
      m.createAgent(f.db.db, { name: 'doomed-bot', scopes: ['external_automation.*'] }, 'admin:test'),
    );
    const { insertApproved } = await import('./support');
    const id = await insertApproved(f.db, agent.id);
    await f.db.db.update(agents).set({ status: 'suspended' }).where(eq(agents.id, agent.id));
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'cancelled' });
    const row = await f.row(id);
    expect(row.status).toBe('cancelled');
    expect(row.failure).toMatchObject({ code: 'agent-killed' });
    expect(callsFor(id)).toHaveLength(0);
  });

  it('sends a policy-approved action back for a human approval when the policy now escalates', async () => {
    const id = await f.insertApproved();
    const escalation = {
      requires: 'human_approval',
      via: 'automation-ops',
      approvals: 1,
      timeout_seconds: 600,
      on_timeout: 'deny' as const,
      escalate_to: null,
      high_risk: false,
      release_window_seconds: 3600,
    };
    f.setPolicy(fixedPolicy(f.seed, { decision: 'escalate', rule_id: 'escalate-reads-now', reasoning: 'reads need a look', escalation, policy_version: 'v3' }));
    try {
      expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'sent_back' });
    } finally {
      f.setPolicy(f.seed);
    }
    const row = await f.row(id);
    expect(row).toMatchObject({ status: 'pending_approval', decision: 'escalate', approverGroup: 'automation-ops', approvalsRequired: 1, approvedAt: null, policyVersion: 'v3' });
    expect(row.expiresAt!.getTime()).toBeGreaterThan(Date.now());
    expect(await f.db.db.select().from(commitOutbox).where(eq(commitOutbox.actionId, id))).toHaveLength(0);
    expect(f.reapprovals).toEqual([id]);
    expect((await f.events(id)).map((e) => e.type)).toEqual(['commit.sent_back']);
    expect(callsFor(id)).toHaveLength(0);
  });

  it('a human-approved action whose policy still escalates is released (the approval stands)', async () => {
    const id = await f.insertApproved({ actionClass: 'external_automation.workflow.create', params: { target_count: 3 }, decision: 'escalate', escalation: { via: 'automation-ops' } });
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'committed' });
  });

  it('asks the controls hook (budgets) inside the claim and refuses with its code', async () => {
    const id = await f.insertApproved();
    const deps = { ...f.deps, controls: { check: async () => ({ kind: 'refuse' as const, code: 'budget-exhausted', reason: 'refunds budget spent' }) } };
    expect(await releaseCommit(deps, id)).toEqual({ kind: 'refused' });
    expect((await f.row(id)).failure).toMatchObject({ code: 'budget-exhausted' });
    expect(callsFor(id)).toHaveLength(0);
  });
});

describe('release: leases and duplicate delivery', () => {
  it('parks a job whose action another worker holds under a live lease', async () => {
    const id = await f.insertApproved();
    await f.db.db.update(actions).set({ status: 'executing', attempts: 1, leaseExpiresAt: sql`now() + interval '5 seconds'` }).where(eq(actions.id, id));
    const out = await releaseCommit(f.deps, id);
    expect(out.kind).toBe('leased');
    expect((out as { delayMs: number }).delayMs).toBeGreaterThan(4000);
    expect(callsFor(id)).toHaveLength(0);
  });

  it('takes over an action whose worker died (lease ran out) and commits it once', async () => {
    const id = await f.insertApproved();
    await f.db.db.update(actions).set({ status: 'executing', attempts: 1, leaseExpiresAt: sql`now() - interval '1 second'` }).where(eq(actions.id, id));
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'committed' });
    const events = await f.events(id);
    expect(events[0]).toMatchObject({ type: 'commit.started', data: { attempt: 2, lease_taken_over: true } });
  });

  it('a worker whose lease was taken over records nothing (fenced by attempt)', async () => {
    const id = await f.insertApproved();
    expect(await releaseCommit(f.deps, id)).toEqual({ kind: 'committed' });
    const stale = { ...(await f.row(id)), status: 'executing', attempts: 0 };
    await f.db.db.update(actions).set({ status: 'executing', attempts: 2 }).where(eq(actions.id, id));
    const out = await recordOutcome(f.deps, stale, { kind: 'terminal', status: 400, body: {}, answer: { bytes: 2, sha256: 'x', truncated: false }, latencyMs: 1 }, 3);
    expect(out.kind).toBe('skipped');
    expect((await f.row(id)).status).toBe('executing');
  });

  it('a commit delivered twice at once, and again afterwards, has one effect', async () => {
    const id = await f.insertApproved();
    plans.set(id, [{ status: 200, delayMs: 200 }]);
    const outs = await Promise.all([releaseCommit(f.deps, id), releaseCommit(f.deps, id), releaseCommit(f.deps, id)]);
    expect(outs.filter((o) => o.kind === 'committed')).toHaveLength(1);
    expect(await releaseCommit(f.deps, id)).toMatchObject({ kind: 'skipped' });
    expect(callsFor(id)).toHaveLength(1);
    expect(f.executor.effects.get(id)).toBe(1);
    expect((await f.events(id)).filter((e) => e.type === 'commit.succeeded')).toHaveLength(1);
  });
});

describe('release: rate-limit slots', () => {
  it('over the limit before claiming: parked, nothing written', async () => {
    const id = await f.insertApproved();
    const deps = { ...f.deps, releaseGate: async () => 700 };
    // The gate answers for executors with a limit; others always have room (src/release/gate.ts).
    const limited = { ...deps, config: { ...f.config, executors: f.config.executors.map((e) => ({ ...e, rate_limit: { max: 1, per_seconds: 1 } })) } };
    const out = await releaseCommit(limited, id);
    expect(out.kind).toBe('throttled');
    expect((out as { delayMs: number }).delayMs).toBeGreaterThanOrEqual(700);
    const row = await f.row(id);
    expect(row).toMatchObject({ status: 'approved', attempts: 0 });
    expect(await f.events(id)).toEqual([]);
  });

  it('lost the slot race after claiming: waits briefly for the next slot, then calls', async () => {
    const id = await f.insertApproved();
    let takes = 0;
    const deps = { ...f.deps, releaseGate: async (_e: string, mode: 'peek' | 'take') => (mode === 'take' && takes++ === 0 ? 100 : 0) };
    const limited = { ...deps, config: { ...f.config, executors: f.config.executors.map((e) => ({ ...e, rate_limit: { max: 1, per_seconds: 1 } })) } };
    expect(await releaseCommit(limited, id)).toEqual({ kind: 'committed' });
    expect(takes).toBe(2);
  });

  it('no slot in time after claiming: gives the claim back without using an attempt', async () => {
    const id = await f.insertApproved();
    const deps = { ...f.deps, releaseGate: async (_e: string, mode: 'peek' | 'take') => (mode === 'take' ? 30_000 : 0) };
    const limited = { ...deps, config: { ...f.config, executors: f.config.executors.map((e) => ({ ...e, rate_limit: { max: 1, per_seconds: 60 } })) } };
    const out = await releaseCommit(limited, id);
    expect(out.kind).toBe('throttled');
    expect(await f.row(id)).toMatchObject({ status: 'queued', attempts: 0, leaseExpiresAt: null });
    expect((await f.events(id)).map((e) => e.type)).toEqual(['commit.started', 'commit.throttled']);
    expect(callsFor(id)).toHaveLength(0);
  });
});
