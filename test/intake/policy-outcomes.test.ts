import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { actions, auditEvents } from '../../src/db/schema';
import { COMMIT_QUEUE } from '../../src/queue/commit-queue';
import { REDIS_URL } from '../support/redis';
import { actionRequest, eventually, startHarness, type Harness } from '../support/harness';

let h: Harness;
let redis: Redis;
let queue: Queue;

beforeAll(async () => {
  h = await startHarness();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  queue = new Queue(COMMIT_QUEUE, { connection: redis, prefix: h.prefix });
});
afterAll(async () => {
  await queue.close();
  redis.disconnect();
  await h.close();
});

async function jobCounts() {
  return queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
}

describe('policy outcomes at the intake', () => {
  it('denies a blast radius over the cap with the seed reasoning and the number filled in', async () => {
    const res = await h.post(actionRequest({ params: { name: 'n', target_count: 40 } }));
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.type).toMatch(/policy-denied$/);
    expect(res.body.retryable).toBe(false);
    expect(res.body.detail).toBe('Requested external automation affects 40 targets, exceeding the standing 25-target hard cap.');
    expect(res.body.decision.rule_id).toBe('deny-high-target-count-automation');
    // RFC 9457 `status` is the HTTP status; the action's state has its own member.
    expect(res.body.status).toBe(403);
    expect(res.body.action_status).toBe('denied');
    const [row] = await h.db.db.select().from(actions).where(eq(actions.id, res.body.action_id));
    expect(row!.status).toBe('denied');
  });

  it('fails closed when target_count is missing', async () => {
    const res = await h.post(actionRequest({ params: { name: 'no-count' } }));
    expect(res.status).toBe(403);
    expect(res.body.decision.rule_id).toBe('deny-high-target-count-automation');
    expect(res.body.detail).toMatch(/target_count/);
  });

  it('denies credential reads', async () => {
    const res = await h.post(actionRequest({ action_class: 'external_automation.credentials.read' }));
    expect(res.status).toBe(403);
    expect(res.body.decision.rule_id).toBe('deny-automation-credential-access');
  });

  it('denies an action class that no rule names', async () => {
    const res = await h.post(actionRequest({ action_class: 'external_automation.widget.frobnicate' }));
    expect(res.status).toBe(403);
    expect(res.body.decision.rule_id).toBeNull();
    expect(res.body.detail).toMatch(/no rule matched/);
  });

  it('never queues anything denied', async () => {
    const counts = await jobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    expect(h.executor.calls).toHaveLength(0);
    const outbox = await h.db.sql`select count(*)::int as n from commit_outbox`;
    expect(outbox[0]!.n).toBe(0);
  });

  it('allows and executes a read at once, with no card', async () => {
    const res = await h.post(actionRequest({ action_class: 'external_automation.read.jobs', context: {} }));
    expect(res.status).toBe(201);
    expect(res.body.decision.decision).toBe('allow');
    expect(res.body.decision.rule_id).toBe('allow-automation-readonly');
    const done = await eventually(async () => {
      const r = await h.get(`/v1/actions/${res.body.id}`);
      return r.body.status === 'committed' ? r.body : null;
    }, 10_000, 'allowed action committed');
    expect(done.result).toMatchObject({ ok: true });
    expect(h.executor.calls).toHaveLength(1);
    const call = h.executor.calls[0]!;
    expect(call.signatureValid).toBe(true);
    expect(call.body).toMatchObject({ action_id: res.body.id, action_class: 'external_automation.read.jobs', payload_hash: res.body.payload_hash, idempotency_key: res.body.id });
    const types = (await h.db.db.select().from(auditEvents).where(eq(auditEvents.actionId, res.body.id)).orderBy(auditEvents.seq)).map((e) => e.type);
    expect(types).toEqual(['action.requested', 'policy.decided', 'action.approved', 'commit.queued', 'commit.started', 'commit.succeeded']);
  });

  it('escalates a state change and waits for approval', async () => {
    const res = await h.post(actionRequest());
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'pending_approval', decision: { decision: 'escalate', rule_id: 'escalate-automation-state-change' } });
    expect(res.body.decision.escalation).toMatchObject({ via: 'automation-ops' });
    expect(res.body.payload_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});
