import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exactlyOnceFigures, readAction, repeatsWithoutTakeover, startApi, stopAll, timedPost, waitFor, type Sent, startSentinelStack, type TestExecutor } from '../chaos/support';
import type { TestDb } from '../support/db';
import type { ServeProcess } from '../support/process';
import type { SentinelGroup } from '../support/private-sentinel';

/**
 * Redis through Sentinel as production runs it (docs/operations.md, "Redis Sentinel"): the servers require a
 * password (REDIS_PASSWORD) and so do the sentinels (REDIS_SENTINEL_PASSWORD). The primary fails over:
 * requests are served before and after, and every accepted action is released exactly once. A wrong password
 * is refused 503 and said in the log, never taken as a working Redis. (A failback — the old primary back as a
 * replica, then promoted again — is not tested here: see docs/operations.md.)
 */
const SERVER_PASSWORD = 'srv-pass-Z9';
const SENTINEL_PASSWORD = 'sent-pass-Q4';

let stack: Awaited<ReturnType<typeof startSentinelStack>> | undefined;
let group: SentinelGroup;
let db: TestDb;
let executor: TestExecutor;
let procs: ServeProcess[] = [];
let token: string;
let baseEnv: Record<string, string>;

beforeAll(async () => {
  stack = await startSentinelStack({
    prefix: 'sentinel-auth',
    group: { replicas: 1, sentinels: 3, password: SERVER_PASSWORD, sentinelPassword: SENTINEL_PASSWORD },
    extra: { REDIS_PASSWORD: SERVER_PASSWORD, REDIS_SENTINEL_PASSWORD: SENTINEL_PASSWORD },
  });
  ({ group, db, executor, procs, token, env: baseEnv } = stack);
}, 120_000);

afterAll(async () => {
  await stack?.close();
}, 60_000);

/** Posts until one is accepted (a refusal is retried with the same key, as a client should); all answers kept. */
async function accepted(url: string, body: Record<string, unknown>, sent: Sent[]): Promise<Sent> {
  return waitFor(async () => {
    const s = await timedPost(url, token, body, 30_000);
    sent.push(s);
    return s.status === 201 ? s : null;
  }, 60_000, 'an accepted request', 100).catch(async (e: Error) => {
    // What the refusals said and what the processes logged: a failure here must say why.
    const last = sent.slice(-3).map((s) => `${s.status} ${s.ms}ms ${JSON.stringify(s.problem)}`);
    throw new Error(`${e.message}; primary now ${await group.primaryPort().catch(() => '?')}; last answers ${last.join(' | ')}\n${procs.map((p) => p.output().slice(-2500)).join('\n---\n')}`);
  });
}

describe('Redis through Sentinel, with passwords', () => {
  it('serves through a failover; nothing lost, nothing released twice', async () => {
    const url = procs[0]!.url;
    const sent: Sent[] = [];
    const bodies: Array<Record<string, unknown>> = [];
    const post = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const body = readAction('sentinel-auth');
        bodies.push(body);
        await accepted(url, body, sent);
      }
    };
    await post(10);
    const [first, second] = group.servers;
    expect(await group.primaryPort()).toBe(first!.port);

    // Failover: the first primary dies; the replica is promoted.
    const killedAt = Date.now();
    await first!.stop();
    await waitFor(async () => (await group.primaryPort()) === second!.port, 30_000, 'the replica promoted', 100);
    const failoverMs = Date.now() - killedAt;
    await post(10);

    // Only 201 or 503 ever answered.
    expect([...new Set(sent.map((s) => s.status))].sort()).toEqual(sent.some((s) => s.status === 503) ? [201, 503] : [201]);
    expect(sent.filter((s) => s.status === 503).every((s) => s.code === 'service-unavailable')).toBe(true);
    const ids = ((await db.sql`select id from actions`) as unknown as Array<{ id: string }>).map((r) => r.id);
    expect(ids).toHaveLength(bodies.length);
    await waitFor(async () => Number((await db.sql`select count(*)::int as n from actions where status = 'committed'`)[0]!.n) === ids.length, 90_000, 'all committed', 300);
    const f = await exactlyOnceFigures(db.sql, executor, ids);
    console.log(`[deploy] sentinel with passwords: failover in ${failoverMs} ms: requests=${sent.length} refused=${sent.filter((s) => s.status !== 201).length} actions=${f.actions} committed=${f.committed} lost=${f.lost} duplicates=${f.duplicateEffects + f.duplicateCommitEvents}`);
    expect(f.lost).toBe(0);
    expect(f.duplicateEffects).toBe(0);
    expect(f.duplicateCommitEvents).toBe(0);
    expect(await repeatsWithoutTakeover(db.sql, executor)).toEqual([]);
    expect(procs.every((p) => p.child.exitCode === null)).toBe(true);
  }, 240_000);

  it.each([
    ['server', { REDIS_PASSWORD: 'not-the-password' }],
    ['sentinel', { REDIS_SENTINEL_PASSWORD: 'not-the-password' }],
  ])('a wrong %s password: requests refused 503 (nothing recorded) and the reason in the log', async (_which, override) => {
    const wrong = await startApi('api-wrong-password', { ...baseEnv, ...override });
    try {
      const before = Number((await db.sql`select count(*)::int as n from actions`)[0]!.n);
      const s = await timedPost(wrong.url, token, readAction('sentinel-auth-wrong'), 30_000);
      expect(s.status).toBe(503);
      expect(s.code).toBe('service-unavailable');
      expect(s.problem.dependency).toBe('redis');
      expect(Number((await db.sql`select count(*)::int as n from actions`)[0]!.n)).toBe(before);
      const ready = await fetch(`${wrong.url}/readyz`);
      expect(ready.status).toBe(503);
      // The operator reads why in the probe's line: the server's or the sentinels' refusal, not a bare timeout.
      await waitFor(async () => /"dependency":"redis".*(WRONGPASS|NOAUTH)[^"]*"/.test(wrong.output()), 10_000, 'the auth failure in the log', 200);
    } finally {
      await stopAll([wrong]);
    }
  }, 90_000);
});
