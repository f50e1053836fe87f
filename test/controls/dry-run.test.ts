import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { count, eq } from 'drizzle-orm';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { actions, commitOutbox } from '../../src/db/schema';
import { CARD_QUEUE } from '../../src/queue/card-queue';
import { REDIS_URL } from '../support/redis';
import { actionRequest, EXECUTOR_SECRET, startHarness, type Harness } from '../support/harness';
import { controlsConfig } from './support';

let h: Harness;
let redis: Redis;
let cards: Queue;

// workflow.* goes to an executor without dry-run support (listed first, so it wins); the rest to one with it.
beforeAll(async () => {
  h = await startHarness({
    configFor: (url) =>
      controlsConfig(url, {
        supportsDryRun: true,
        executors: `  - { name: no-preview, action_classes: ["external_automation.workflow.*"], url: "${url}", secret: "${EXECUTOR_SECRET}", supports_dry_run: false }`,
      }),
    executor: {
      respond: (call) => {
        const params = call.body.params as { mode?: string; name?: string };
        if (params.mode === 'ineligible') return { status: 409, body: { error: 'job is not eligible for a run' } };
        if (params.mode === 'down') return { status: 503, body: {} };
        if (call.body.dry_run) return { status: 200, body: { would_change: [{ job: params.name, field: 'last_run', from: null, to: 'now' }] } };
        return { status: 200, body: { ok: true } };
      },
    },
  });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  cards = new Queue(CARD_QUEUE, { connection: redis, prefix: h.prefix });
});
afterAll(async () => {
  await cards?.close();
  redis?.disconnect();
  await h?.close();
});

const jobRun = (params: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  actionRequest({ action_class: 'external_automation.job.run', params: { target_count: 2, ...params }, dry_run: true, ...extra });

describe('dry_run: true', () => {
  it('runs policy, asks the executor for a signed preview, returns and stores it, and queues nothing', async () => {
    const res = await h.post(jobRun({ name: 'nightly' }));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'previewed', dry_run: true, decision: { decision: 'escalate' } });
    expect(res.body.preview).toEqual({ would_change: [{ job: 'nightly', field: 'last_run', from: null, to: 'now' }] });
    const call = h.executor.calls.find((c) => c.body.action_id === res.body.id)!;
    expect(call.signatureValid).toBe(true);
    expect(call.body).toMatchObject({ dry_run: true, payload_hash: res.body.payload_hash, action_class: 'external_automation.job.run' });
    const [row] = await h.db.db.select().from(actions).where(eq(actions.id, res.body.id));
    expect(row!.status).toBe('previewed');
    expect(row!.preview).toEqual(res.body.preview);
    const [outbox] = await h.db.db.select({ n: count() }).from(commitOutbox).where(eq(commitOutbox.actionId, res.body.id));
    expect(outbox!.n).toBe(0);
    expect((await cards.getJobs(['waiting', 'delayed', 'active', 'completed'])).filter((j) => j.data.action_id === res.body.id)).toHaveLength(0);
    // GET shows the preview too.
    expect((await h.get(`/v1/actions/${res.body.id}`)).body.preview).toEqual(res.body.preview);
  });

  it('puts the preview of a recent dry run of the same payload on the real request (and so on its approval card)', async () => {
    const dry = (await h.post(jobRun({ name: 'weekly' }))).body;
    const real = await h.post({ ...jobRun({ name: 'weekly' }), dry_run: false });
    expect(real.status).toBe(201);
    expect(real.body).toMatchObject({ status: 'pending_approval', payload_hash: dry.payload_hash, preview: dry.preview });
    const [row] = await h.db.db.select().from(actions).where(eq(actions.id, real.body.id));
    expect(row!.preview).toEqual(dry.preview);
    // A different payload gets no borrowed preview.
    const other = await h.post({ ...jobRun({ name: 'monthly' }), dry_run: false });
    expect(other.body.status).toBe('pending_approval');
    expect(other.body.preview).toBeUndefined();
  });

  it('does not call the executor when policy would deny; the preview says denied', async () => {
    const before = h.executor.calls.length;
    const res = await h.post(jobRun({ name: 'huge', target_count: 99 }));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'previewed', decision: { decision: 'deny', rule_id: 'deny-high-target-count-automation' } });
    expect(res.body.preview).toBeUndefined();
    expect(h.executor.calls.length).toBe(before);
  });

  it('refuses with 422 dry-run-unsupported when the executor has no dry run', async () => {
    const res = await h.post(actionRequest({ dry_run: true }));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'dry-run-unsupported', executor: 'no-preview' });
  });

  it('passes on the executor refusing the dry run as 422 dry-run-rejected with its answer', async () => {
    const res = await h.post(jobRun({ name: 'x', mode: 'ineligible' }));
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'dry-run-rejected', retryable: false, executor_status: 409, executor_response: { error: 'job is not eligible for a run' } });
  });

  it('answers 502 executor-unavailable (retryable) when the executor fails, recording nothing', async () => {
    const body = jobRun({ name: 'x', mode: 'down' });
    const res = await h.post(body);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ code: 'executor-unavailable', retryable: true });
    expect(res.headers.get('retry-after')).toBeTruthy();
    const [rows] = await h.db.db.select({ n: count() }).from(actions).where(eq(actions.idempotencyKey, body.idempotency_key as string));
    expect(rows!.n).toBe(0);
  });
});
