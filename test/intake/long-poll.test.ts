import { request } from 'node:http';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/auth/agents';
import { actionRequest, eventually, startHarness, type Harness } from '../support/harness';

// Small caps so the test can reach them: 4 per agent, 6 on the instance.
let h: Harness;
let otherToken: string;
beforeAll(async () => {
  h = await startHarness({ env: { COUNTERSIGN_LONG_POLL_MAX_PER_AGENT: '4', COUNTERSIGN_LONG_POLL_MAX_TOTAL: '6' } });
  otherToken = (await createAgent(h.db.db, { name: 'other-bot', owner: 'platform', scopes: ['external_automation.*'] }, 'admin:test')).token;
});
afterAll(async () => {
  await h?.close();
});
// Every poll a test opened is closed after it, passed or failed, so one failure cannot eat the next test's slots.
const opened: Array<{ abort(): void }> = [];
afterEach(async () => {
  for (const p of opened.splice(0)) p.abort();
  await active(0);
});

/** An action waiting for approval (it will not change by itself). */
async function pending(token = h.token): Promise<string> {
  const res = await h.post(actionRequest(), { token });
  expect(res.body.status).toBe('pending_approval');
  return res.body.id as string;
}

type Answer = { status: number; body: any; headers: Record<string, string | string[] | undefined> };
type Poll = { done: Promise<Answer | 'aborted'>; abort(): void };
/** A long poll on its own connection (node:http, no keep-alive), so abort() really closes the socket. */
function longPoll(id: string, token = h.token, wait = 30): Poll {
  const url = new URL(h.app.url);
  let req: ReturnType<typeof request>;
  const done = new Promise<Answer | 'aborted'>((resolve) => {
    req = request({ host: url.hostname, port: url.port, path: `/v1/actions/${id}?wait=${wait}`, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text), headers: res.headers }));
      res.on('error', () => resolve('aborted'));
    });
    req.on('error', () => resolve('aborted'));
    req.end();
  });
  const poll = { done, abort: () => req.destroy() };
  opened.push(poll);
  return poll;
}

const active = (n: number) => eventually(async () => h.app.longPolls.active === n, 30_000, `${n} long polls open`).catch((e) => { throw new Error(`${e.message} (active: ${h.app.longPolls.active})`); });

// Generous timeouts: the machine these run on is shared, and each step waits for requests to arrive.
describe('long polls are capped', { timeout: 120_000 }, () => {
  it('per agent and per instance: 429 too-many-long-polls with Retry-After beyond, a slot again once one ends', async () => {
    const mine = await Promise.all(Array.from({ length: 5 }, () => pending()));
    const theirs = await Promise.all(Array.from({ length: 3 }, () => pending(otherToken)));
    const open = mine.slice(0, 4).map((id) => longPoll(id));
    await active(4);

    const fifth = await longPoll(mine[4]!).done;
    if (fifth === 'aborted') throw new Error('aborted');
    expect(fifth.status).toBe(429);
    expect(fifth.headers['content-type']).toContain('application/problem+json');
    expect(fifth.headers['retry-after']).toMatch(/^\d+$/);
    expect(fifth.body).toMatchObject({ code: 'too-many-long-polls', retryable: true, scope: 'agent', limit: 4 });
    // A read without wait is not a long poll: still answered.
    expect((await h.get(`/v1/actions/${mine[4]}`)).status).toBe(200);

    // Another agent has its own allowance, up to what the instance holds in all (6).
    open.push(longPoll(theirs[0]!, otherToken), longPoll(theirs[1]!, otherToken));
    await active(6);
    const seventh = await longPoll(theirs[2]!, otherToken).done;
    if (seventh === 'aborted') throw new Error('aborted');
    expect(seventh.status).toBe(429);
    expect(seventh.body).toMatchObject({ code: 'too-many-long-polls', scope: 'instance', limit: 6 });

    // A client that goes away gives its slot back.
    open.shift()!.abort();
    await active(5);
    open.push(longPoll(mine[4]!));
    await active(6);

    for (const p of open) p.abort();
    await active(0);
  });
});

describe('long polls share one poller', { timeout: 120_000 }, () => {
  it('while six long polls wait, every status check reads all six actions in one query', async () => {
    const ids = [...(await Promise.all(Array.from({ length: 4 }, () => pending()))), ...(await Promise.all(Array.from({ length: 2 }, () => pending(otherToken))))];
    const checks: unknown[][] = [];
    // Instrument the app's own postgres.js client: every query it sends, with its parameters.
    const client = (h.app.db as unknown as { $client: { options: { debug?: unknown } } }).$client;
    const polls = [...ids.slice(0, 4).map((id) => longPoll(id)), ...ids.slice(4).map((id) => longPoll(id, otherToken))];
    await active(6);
    client.options.debug = (_conn: number, text: string, params: unknown[]) => {
      if (/from "actions"/.test(text) && params.flat(2).some((p) => ids.includes(p as string))) checks.push(params.flat(2));
    };
    try {
      await eventually(async () => checks.length >= 3, 30_000, 'three status checks');
    } finally {
      client.options.debug = undefined;
    }
    for (const params of checks) expect([...params].filter((p) => ids.includes(p as string)).sort()).toEqual([...ids].sort());
    for (const p of polls) p.abort();
    await active(0);
  });

  it('wakes a waiter when its action changes, with the row as it now stands', async () => {
    const id = await pending();
    const poll = longPoll(id, h.token, 30);
    await active(1);
    await h.db.sql`update actions set status = 'denied', updated_at = now() where id = ${id}`;
    const res = await poll.done;
    if (res === 'aborted') throw new Error('aborted');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('denied');
    await active(0);
  });

  it('a wait that runs out answers the current row', async () => {
    const id = await pending();
    const res = await longPoll(id, h.token, 1).done;
    if (res === 'aborted') throw new Error('aborted');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('pending_approval');
  });
});

describe('a long poll whose client left before it was held', { timeout: 60_000 }, () => {
  it('is not held: it gives its slot back at once, not when its wait runs out', async () => {
    const ids = await Promise.all(Array.from({ length: 4 }, () => pending()));
    const url = new URL(h.app.url);
    // Each client sends its request and closes the connection at once: the server is still checking the
    // token when the client is gone, so the response's 'close' comes before anything listens for it.
    for (const id of ids) {
      const socket = connect(Number(url.port), url.hostname);
      await new Promise<void>((r) => socket.once('connect', () => r()));
      socket.end(`GET /v1/actions/${id}?wait=30 HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${h.token}\r\nConnection: close\r\n\r\n`);
      socket.destroy();
    }
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.app.longPolls.active).toBe(0);
    // The agent's four slots are free: four new polls are all held.
    const again = ids.map((id) => longPoll(id));
    await active(4);
    for (const p of again) p.abort();
  });
});

