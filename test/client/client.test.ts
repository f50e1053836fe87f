import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/auth/agents';
import { decideApproval } from '../../src/approvals/decide';
import { TERMINAL_STATUSES as SERVER_TERMINAL } from '../../src/approvals/status';
import { ALICE, actionRequest, startHarness, type Harness } from '../support/harness';
// The built package (packages/client, npm workspace), the way an agent imports it.
import { CountersignClient, CountersignError, TERMINAL_STATUSES, WaitTimeoutError, createCountersignClient } from '@countersign/client';

let h: Harness;
let client: CountersignClient;

beforeAll(async () => {
  h = await startHarness();
  client = createCountersignClient({ baseUrl: h.app.url, token: h.token, retry: { maxRetries: 2, baseDelayMs: 10 } });
});
afterAll(async () => {
  await h?.close();
});

const readJobs = () => {
  const { idempotency_key: _k, ...rest } = actionRequest({ action_class: 'external_automation.read.jobs', context: {} });
  return rest as { action_class: string };
};
const createWorkflow = () => {
  const { idempotency_key: _k, ...rest } = actionRequest();
  return rest as { action_class: string };
};

async function approve(actionId: string) {
  const action = await client.getAction(actionId);
  const outcome = await decideApproval(h.db.db, async () => 'approver' as const, { actionId, userId: ALICE, verdict: 'approve', shownPayloadHash: action.payload_hash });
  expect(outcome.kind).toBe('approved');
}

describe('agent client against a running Countersign', () => {
  it('requests an allowed action with a generated idempotency key and waits for its commit', async () => {
    const action = await client.requestAction(readJobs());
    expect(action.status).toBe('queued');
    expect(action.idempotency_key).toMatch(/^cs-/);
    const done = await client.waitForOutcome(action.id, { timeoutMs: 20_000 });
    expect(done.status).toBe('committed');
    expect(done.result).toMatchObject({ ok: true });
  });

  it('replays instead of duplicating when the same key is sent again', async () => {
    const body = { ...readJobs(), idempotency_key: `agent-key-${Date.now()}` };
    const first = await client.requestAction(body);
    const again = await client.requestAction(body);
    expect(again.id).toBe(first.id);
  });

  it('waits on a pending approval and returns once a human approves', async () => {
    const action = await client.requestAction(createWorkflow());
    expect(action.status).toBe('pending_approval');
    let settled = false;
    const waiting = client.waitForOutcome(action.id, { timeoutMs: 25_000 }).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 400));
    expect(settled).toBe(false);
    await approve(action.id);
    const done = await waiting;
    expect(done.status).toBe('committed');
  });

  it('stops at a custom condition (leaving pending_approval)', async () => {
    const action = await client.requestAction(createWorkflow());
    const waiting = client.waitForOutcome(action.id, { timeoutMs: 25_000, until: (a) => a.status !== 'pending_approval' });
    await approve(action.id);
    const moved = await waiting;
    expect(['approved', 'queued', 'executing', 'committed']).toContain(moved.status);
  });

  it('times out with the last state when nobody answers', async () => {
    const action = await client.requestAction(createWorkflow());
    const err = await client.waitForOutcome(action.id, { timeoutMs: 1_200 }).catch((e) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err.code).toBe('wait-timeout');
    expect(err.last.status).toBe('pending_approval');
  });

  it('rejects a policy denial with a typed, non-retryable error naming the action', async () => {
    const err = await client.requestAction({ ...readJobs(), action_class: 'external_automation.credentials.read' }).catch((e) => e);
    expect(err).toBeInstanceOf(CountersignError);
    expect(err).toMatchObject({ code: 'policy-denied', status: 403, retryable: false, attempts: 1 });
    expect(err.type).toBe('https://countersign.dev/problems/policy-denied');
    expect(err.actionId).toMatch(/^act_/);
  });

  it('rejects bad input with every violation listed, without retrying', async () => {
    const err = await client.requestAction({ action_class: 'external_automation.read.jobs', params: 'nope' as never }).catch((e) => e);
    expect(err).toMatchObject({ code: 'validation-failed', status: 422, retryable: false, attempts: 1 });
    expect(err.problem.errors[0].path).toBe('params');
  });

  it('rejects a bad token as unauthenticated', async () => {
    const stranger = new CountersignClient({ baseUrl: h.app.url, token: 'csa_not-a-real-token' });
    await expect(stranger.requestAction(readJobs())).rejects.toMatchObject({ code: 'unauthenticated', status: 401, retryable: false });
  });

  it("cannot read another agent's action (not-found)", async () => {
    const action = await client.requestAction(readJobs());
    const { token } = await createAgent(h.db.db, { name: 'other-bot', scopes: ['external_automation.*'] }, 'admin:test');
    const other = new CountersignClient({ baseUrl: h.app.url, token });
    await expect(other.getAction(action.id)).rejects.toMatchObject({ code: 'not-found', status: 404 });
    await expect(other.waitForOutcome(action.id, { timeoutMs: 1000 })).rejects.toMatchObject({ code: 'not-found' });
  });

  it("honours a real 429's Retry-After from the app's rate limiter, then gives up with a typed error", async () => {
    const { token } = await createAgent(h.db.db, { name: 'slow-bot', scopes: ['external_automation.*'], rateLimitPerMinute: 1 }, 'admin:test');
    const sleeps: number[] = [];
    const limited = new CountersignClient({ baseUrl: h.app.url, token, retry: { maxRetries: 1 }, sleep: async (ms) => void sleeps.push(ms) });
    await limited.requestAction(readJobs());
    const err = await limited.requestAction(readJobs()).catch((e) => e);
    expect(err).toBeInstanceOf(CountersignError);
    expect(err).toMatchObject({ code: 'rate-limited', status: 429, retryable: true, attempts: 2 });
    expect(err.retryAfterSeconds).toBeGreaterThan(0);
    expect(sleeps).toHaveLength(1);
    // The wait came from the server's Retry-After (whole seconds), not from the 250 ms backoff.
    expect(sleeps[0]! % 1000).toBe(0);
    expect(sleeps[0]).toBeGreaterThanOrEqual(1000);
    const metrics = await (await fetch(`${h.app.url}/metrics`)).text();
    expect(metrics).toMatch(/countersign_problem_responses_total\{code="rate-limited",status="429"\} 2/);
  });

  it('knows the same terminal statuses as the server', () => {
    expect([...TERMINAL_STATUSES].sort()).toEqual([...SERVER_TERMINAL].sort());
  });
});

describe('GET /v1/actions/:id?wait=N (long poll)', () => {
  it('answers at once when the status already differs from the one the client saw', async () => {
    const action = await client.requestAction(createWorkflow());
    const res = await h.get(`/v1/actions/${action.id}?wait=60&status=queued`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('pending_approval');
  });

  it('answers at once for a terminal action', async () => {
    const action = await client.requestAction(readJobs());
    const done = await client.waitForOutcome(action.id, { timeoutMs: 20_000 });
    const res = await h.get(`/v1/actions/${action.id}?wait=60`);
    expect(res.body.status).toBe(done.status);
  });

  it('holds the request until the status changes', async () => {
    const action = await client.requestAction(createWorkflow());
    let settled = false;
    // wait=60 is longer than the test timeout: this can only pass if the change ends the wait.
    const held = h.get(`/v1/actions/${action.id}?wait=60`).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 500));
    expect(settled).toBe(false);
    await approve(action.id);
    const res = await held;
    expect(res.status).toBe(200);
    expect(res.body.status).not.toBe('pending_approval');
  }, 20_000);

  it('returns the unchanged action when the wait ends', async () => {
    const action = await client.requestAction(createWorkflow());
    const res = await h.get(`/v1/actions/${action.id}?wait=1`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('pending_approval');
  });

  it('refuses a wait out of bounds or a status that does not exist', async () => {
    const action = await client.requestAction(readJobs());
    for (const q of ['wait=61', 'wait=-1', 'wait=abc', 'wait=1.5', 'status=almost_done']) {
      const res = await h.get(`/v1/actions/${action.id}?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body.code).toBe('invalid-request');
    }
  });
});

describe('shutdown during a long poll', () => {
  it('answers held requests at once when the server closes', async () => {
    const own = await startHarness({ start: { workers: false } });
    try {
      const c = new CountersignClient({ baseUrl: own.app.url, token: own.token });
      const action = await c.requestAction(createWorkflow());
      const held = own.get(`/v1/actions/${action.id}?wait=60`);
      await new Promise((r) => setTimeout(r, 300));
      // close() would wait for the held request; the shutdown signal ends the wait instead.
      await own.app.close();
      const res = await held;
      expect(res.body.status).toBe('pending_approval');
    } finally {
      await own.executor.close();
      await own.db.drop();
    }
  }, 20_000);
});
