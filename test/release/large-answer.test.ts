import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actions } from '../../src/db/schema';
import { MAX_STORED_ANSWER_BYTES } from '../../src/executor/answer';
import { outcomeReply } from '../../src/slack/blocks/approval-card';
import { actionRequest, eventually, startHarness, type Harness } from '../support/harness';

// The executor answers a read with 5 MB (a secret in its first characters), a job with a small answer, and
// a rejected job with 1 MB.
const HUGE = { password_hint: 'see postgres://svc:leaked-pw@db/app', blob: 'x'.repeat(5 * 1024 * 1024) };
const HUGE_TEXT = JSON.stringify(HUGE);
const REJECTION = { error: 'no', detail: 'y'.repeat(1024 * 1024) };
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    executor: {
      respond: (call) => {
        const cls = call.body.action_class as string;
        if (cls === 'external_automation.read.jobs') return { status: 200, body: HUGE };
        if (cls === 'external_automation.read.rejected') return { status: 422, body: REJECTION };
        return { status: 200, body: { ok: true, id: 'small' } };
      },
    },
  });
});
afterAll(async () => {
  await h?.close();
});

async function finished(id: string) {
  return eventually(async () => {
    const [row] = await h.db.db.select().from(actions).where(eq(actions.id, id));
    return row && ['committed', 'failed'].includes(row.status) ? row : undefined;
  }, 20_000, `${id} finished`);
}

describe('executor answers are capped where they are stored', () => {
  it('a 5 MB answer: a stand-in with its size and the SHA-256 of the whole in the action, the audit event and the card', async () => {
    const res = await h.post(actionRequest({ action_class: 'external_automation.read.jobs' }));
    expect(res.status).toBe(201);
    const row = await finished(res.body.id);
    expect(row.status).toBe('committed');
    const want = { truncated: true, bytes: Buffer.byteLength(HUGE_TEXT), sha256: sha256(HUGE_TEXT) };
    expect(row.result).toMatchObject(want);
    expect(JSON.stringify(row.result).length).toBeLessThan(MAX_STORED_ANSWER_BYTES);

    const [event] = await h.events(res.body.id, 'commit.succeeded');
    expect(event!.data.answer).toEqual(want);
    expect(event!.data.result).toMatchObject(want);
    expect(JSON.stringify(event!.data).length).toBeLessThan(MAX_STORED_ANSWER_BYTES);
    // Stored evidence is redacted like everything else, the head of an answer included.
    expect(JSON.stringify(event!.data)).not.toContain('leaked-pw');

    const view = (await h.get(`/v1/actions/${res.body.id}`)).body;
    expect(view.result).toMatchObject(want);

    const reply = JSON.stringify(outcomeReply(row).blocks);
    expect(reply).toContain('Answer truncated');
    expect(reply).toContain(want.sha256);
    expect(reply).toContain('5,242,9'); // the size, in bytes
    expect(reply).not.toContain('leaked-pw');
  });

  it('a small answer is stored as it came, with its size and hash in the audit event', async () => {
    const res = await h.post(actionRequest({ action_class: 'external_automation.read.small' }));
    const row = await finished(res.body.id);
    expect(row.result).toEqual({ ok: true, id: 'small' });
    const [event] = await h.events(res.body.id, 'commit.succeeded');
    const text = JSON.stringify({ ok: true, id: 'small' });
    expect(event!.data.answer).toEqual({ truncated: false, bytes: text.length, sha256: sha256(text) });
    expect(JSON.stringify(outcomeReply(row).blocks)).not.toContain('Answer truncated');
  });

  it('a 1 MB rejection is capped the same way in the failure and its evidence', async () => {
    const res = await h.post(actionRequest({ action_class: 'external_automation.read.rejected' }));
    const row = await finished(res.body.id);
    expect(row.status).toBe('failed');
    const text = JSON.stringify(REJECTION);
    const want = { truncated: true, bytes: text.length, sha256: sha256(text) };
    expect(row.failure!.body).toMatchObject(want);
    expect(row.failure!.answer).toEqual(want);
    const [event] = await h.events(res.body.id, 'commit.failed');
    expect(JSON.stringify(event!.data).length).toBeLessThan(MAX_STORED_ANSWER_BYTES);
    expect(JSON.stringify(outcomeReply(row).blocks)).toContain(want.sha256);
  });
});
