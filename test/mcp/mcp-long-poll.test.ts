import { connect as connectTcp } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actionRequest, eventually, startHarness, type Harness } from '../support/harness';

// The MCP tool get_action_status with wait_seconds is a long poll like GET /v1/actions/:id?wait: it holds one
// of the agent's long-poll slots while it waits, and gives it back as soon as its client is gone.
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { COUNTERSIGN_LONG_POLL_MAX_PER_AGENT: '4', COUNTERSIGN_LONG_POLL_MAX_TOTAL: '6' } });
});
afterAll(async () => {
  await h?.close();
});

async function pending(): Promise<string> {
  const res = await h.post(actionRequest());
  expect(res.body.status).toBe('pending_approval');
  return res.body.id as string;
}

/** A raw tools/call of get_action_status waiting 30 s, on a connection of its own; `leave` closes it right after sending. */
async function waitingCall(actionId: string, leave: 'at-once' | 'later'): Promise<{ close(): void }> {
  const url = new URL(h.app.url);
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_action_status', arguments: { action_id: actionId, wait_seconds: 30 } } });
  const socket = connectTcp(Number(url.port), url.hostname);
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(
    `POST /mcp HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${h.token}\r\nContent-Type: application/json\r\n` +
      `Accept: application/json, text/event-stream\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
  if (leave === 'at-once') socket.destroy();
  return { close: () => socket.destroy() };
}

// `withinMs` for a slot given back is well under the calls' 30 s wait: a slot freed only when its wait ran out fails.
const active = (n: number, withinMs = 30_000) => eventually(async () => h.app.longPolls.active === n, withinMs, `${n} long polls open`).catch((e) => { throw new Error(`${e.message} (active: ${h.app.longPolls.active})`); });

describe('MCP get_action_status with wait_seconds', { timeout: 60_000 }, () => {
  it('holds a long-poll slot while it waits and gives it back when its client leaves', async () => {
    const ids = await Promise.all(Array.from({ length: 2 }, () => pending()));
    const calls = await Promise.all(ids.map((id) => waitingCall(id, 'later')));
    await active(2);
    for (const c of calls) c.close();
    await active(0, 5_000);
  });

  it('is not held at all when its client left before the call was read (the slot is free at once)', async () => {
    const ids = await Promise.all(Array.from({ length: 4 }, () => pending()));
    // Each client sends its call and closes the connection at once: the server is still checking the token
    // when the client is gone, so the response's 'close' comes before anything listens for it.
    for (const id of ids) await waitingCall(id, 'at-once');
    await new Promise((r) => setTimeout(r, 1000));
    expect(h.app.longPolls.active).toBe(0);
    // The agent's four slots are free: four new waiting calls are all held.
    const again = await Promise.all(ids.map((id) => waitingCall(id, 'later')));
    await active(4);
    for (const c of again) c.close();
    await active(0, 5_000);
  });
});
