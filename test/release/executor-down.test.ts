import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { CARD_QUEUE } from '../../src/queue/card-queue';
import { REDIS_URL } from '../support/redis';
import { actionRequest, eventually, startHarness, type Harness } from '../support/harness';

let h: Harness;
let redis: Redis;
let cards: Queue;

beforeAll(async () => {
  h = await startHarness();
  // The executor is down: its port refuses connections from now on.
  await h.executor.close();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  cards = new Queue(CARD_QUEUE, { connection: redis, prefix: h.prefix });
});
afterAll(async () => {
  await cards.close();
  redis.disconnect();
  await h.close().catch(() => undefined);
});

describe('executor down', () => {
  it('retries with backoff, then ends failed with an exception_record and a Slack thread notice queued', async () => {
    const res = await h.post(actionRequest({ action_class: 'external_automation.read.jobs', context: {} }));
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const done = await eventually(async () => {
      const r = await h.get(`/v1/actions/${id}`);
      return r.body.status === 'failed' ? r.body : null;
    }, 20_000, 'action failed after retries');
    expect(done.status).toBe('failed');
    const events = (await h.db.sql`select type, data from audit_events where action_id = ${id} order by seq`) as unknown as Array<{ type: string; data: any }>;
    const types = events.map((e) => e.type);
    // max_attempts is 3 in the test config: three starts, two retries, then failed.
    expect(types.filter((t) => t === 'commit.started')).toHaveLength(3);
    expect(types.filter((t) => t === 'commit.retry')).toHaveLength(2);
    expect(types.slice(-2)).toEqual(['commit.failed', 'exception_record']);
    expect(events.at(-1)!.data).toMatchObject({ kind: 'retries_exhausted', detail: expect.stringMatching(/network error/) });
    const [row] = await h.db.sql`select attempts, failure from actions where id = ${id}`;
    expect(row!.attempts).toBe(3);
    expect(row!.failure).toMatchObject({ code: 'retries-exhausted' });
    const notices = await eventually(async () => {
      const jobs = await cards.getJobs(['waiting', 'delayed', 'prioritized']);
      const found = jobs.filter((j) => j.data.kind === 'outcome' && j.data.action_id === id);
      return found.length ? found : null;
    }, 5000, 'outcome card job');
    expect(notices).toHaveLength(1);
  });
});
