import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, count, eq, sql } from 'drizzle-orm';
import { actions, agentTokens, auditEvents } from '../../src/db/schema';
import { hashToken } from '../../src/auth/tokens';
import { rotateAgentToken, revokeAgentTokens } from '../../src/auth/token-admin';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { startCountersign, type Countersign } from '../../src/main';
import { actionRequest, startHarness, type Harness } from '../support/harness';
import { addAgent, controlsConfig, postTo } from '../controls/support';

let h: Harness;
let second: Countersign;

beforeAll(async () => {
  h = await startHarness({ configFor: (url) => controlsConfig(url), start: { workers: false } });
  // Another instance on the same database: what one revokes, the other must refuse on the next request.
  second = await startCountersign(h.env, { config: h.app.config, workers: false });
});
afterAll(async () => {
  await second?.close();
  await h?.close();
});

const read = () => actionRequest({ action_class: 'external_automation.read.jobs', context: {} });
const onBoth = async (token: string) => [(await postTo(h.app.url, token, read())).status, (await postTo(second.url, token, read())).status];

async function cli(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), readStdin: async () => '' };
  const saved = { db: process.env.DATABASE_URL, op: process.env.COUNTERSIGN_OPERATOR };
  process.env.DATABASE_URL = h.db.url;
  process.env.COUNTERSIGN_OPERATOR = 'sec-oncall';
  try {
    return { code: await runCli(args, io), stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    if (saved.db === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved.db;
    if (saved.op === undefined) delete process.env.COUNTERSIGN_OPERATOR;
    else process.env.COUNTERSIGN_OPERATOR = saved.op;
  }
}

describe('scopes', () => {
  it('refuses an out-of-scope class with 403 before policy, every time, and audits each refusal', async () => {
    // Policy would allow this read; the agent's scopes do not cover it.
    const { token, agent } = await addAgent(h, { scopes: ['external_automation.workflow.*'] });
    for (let i = 0; i < 3; i++) {
      const res = await postTo(h.app.url, token, read());
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'out-of-scope', retryable: false, action_class: 'external_automation.read.jobs', scopes: ['external_automation.workflow.*'] });
    }
    const [rows] = await h.db.db.select({ n: count() }).from(actions).where(eq(actions.agentId, agent.id));
    expect(rows!.n).toBe(0);
    const refusals = await h.db.db.select().from(auditEvents).where(and(eq(auditEvents.agentId, agent.id), eq(auditEvents.type, 'request.refused')));
    expect(refusals).toHaveLength(3);
    expect(refusals.every((e) => e.actor === `agent:${agent.id}` && (e.data as { reason: string }).reason === 'out-of-scope')).toBe(true);
    expect((await postTo(h.app.url, token, actionRequest())).status).toBe(201);
  });
});

describe('tokens', () => {
  it('have a visible prefix and are stored only as a hash, nowhere in clear', async () => {
    const { token, agent } = await addAgent(h);
    expect(token).toMatch(/^csa_[0-9A-Za-z]{43}$/);
    const [row] = await h.db.db.select().from(agentTokens).where(eq(agentTokens.agentId, agent.id));
    expect(row!.tokenHash).toBe(hashToken(token));
    expect(row!.displayPrefix).toBe(`${token.slice(0, 10)}…`);
    const leaks = await h.db.sql`select count(*)::int as n from audit_events where data::text like ${`%${token.slice(4)}%`}`;
    expect(leaks[0]!.n).toBe(0);
    const stored = await h.db.sql`select count(*)::int as n from agent_tokens where token_hash = ${token} or display_prefix = ${token}`;
    expect(stored[0]!.n).toBe(0);
  });

  it('rotate: the new token works at once and the old one keeps working until the grace ends, on every instance', async () => {
    const { token: old, agent } = await addAgent(h);
    const rotated = await rotateAgentToken(h.db.db, agent.name, 15 * 60, 'admin:test');
    expect(await onBoth(rotated.token)).toEqual([201, 201]);
    expect(await onBoth(old)).toEqual([201, 201]);
    const graceEnd = new Date(rotated.previous[0]!.expires_at).getTime();
    expect(graceEnd).toBeGreaterThan(Date.now() + 14 * 60_000);
    expect(graceEnd).toBeLessThanOrEqual(Date.now() + 15 * 60_000);
    // The grace period ends (moved into the past rather than waited for): refused everywhere, no restart.
    await h.db.db.update(agentTokens).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(agentTokens.id, rotated.previous[0]!.id));
    expect(await onBoth(old)).toEqual([401, 401]);
    expect(await onBoth(rotated.token)).toEqual([201, 201]);
  });

  it('rotate never extends a grace that already ends sooner; --grace 0 ends the old token at once', async () => {
    const { token: first, agent } = await addAgent(h);
    const a = await rotateAgentToken(h.db.db, agent.name, 60, 'admin:test');
    const b = await rotateAgentToken(h.db.db, agent.name, 3600, 'admin:test');
    const firstRow = b.previous.find((p) => p.id === a.previous[0]!.id)!;
    expect(firstRow.expires_at).toBe(a.previous[0]!.expires_at);
    await rotateAgentToken(h.db.db, agent.name, 0, 'admin:test');
    expect(await onBoth(first)).toEqual([401, 401]);
    expect(await onBoth(b.token)).toEqual([401, 401]);
  });

  it('revoke: every token of the agent is refused by the other instance on its very next request', async () => {
    const { token, agent } = await addAgent(h);
    const extra = await rotateAgentToken(h.db.db, agent.name, 3600, 'admin:test');
    expect((await postTo(second.url, token, read())).status).toBe(201);
    const { revoked } = await revokeAgentTokens(h.db.db, agent.name, 'admin:test');
    expect(revoked).toHaveLength(2);
    const res = await postTo(second.url, token, read());
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(res.body.detail).toMatch(/invalid, expired or revoked/);
    expect((await postTo(second.url, extra.token, read())).status).toBe(401);
  });

  it('revoke --token ends one token and leaves the others', async () => {
    const { token, agent } = await addAgent(h);
    const next = await rotateAgentToken(h.db.db, agent.name, 3600, 'admin:test');
    await revokeAgentTokens(h.db.db, agent.name, 'admin:test', { tokenId: next.tokenId });
    expect(await onBoth(next.token)).toEqual([401, 401]);
    expect(await onBoth(token)).toEqual([201, 201]);
  });
});

describe('CLI: agents rotate / revoke', () => {
  it('rotates with --grace and revokes, audited as admin:cli:<operator>', async () => {
    const { token: old, agent } = await addAgent(h);
    const rotated = await cli(['agents', 'rotate', agent.name, '--grace', '15m', '--json']);
    expect(rotated.code).toBe(0);
    const out = JSON.parse(rotated.stdout);
    expect(out.token).toMatch(/^csa_/);
    expect(out.previous).toHaveLength(1);
    expect(await onBoth(out.token)).toEqual([201, 201]);
    expect(await onBoth(old)).toEqual([201, 201]);

    const revoked = await cli(['agents', 'revoke', agent.name, '--reason', 'leaked in a log']);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/revoked 2 token\(s\)/);
    expect(await onBoth(out.token)).toEqual([401, 401]);
    expect(await onBoth(old)).toEqual([401, 401]);

    const events = await h.db.db.select().from(auditEvents).where(eq(auditEvents.agentId, agent.id)).orderBy(auditEvents.seq);
    const rotatedEvt = events.find((e) => e.type === 'agent.token_rotated')!;
    const revokedEvt = events.find((e) => e.type === 'agent.tokens_revoked')!;
    expect(rotatedEvt.actor).toBe('admin:cli:sec-oncall');
    expect(rotatedEvt.data).toMatchObject({ grace_seconds: 900, issued: { id: out.token_id }, previous: [{ id: out.previous[0].id }] });
    expect(revokedEvt.actor).toBe('admin:cli:sec-oncall');
    expect(revokedEvt.data).toMatchObject({ reason: 'leaked in a log', revoked_ids: expect.arrayContaining([out.token_id]) });
  });

  it('refuses a bad grace or an unknown agent with a clear message', async () => {
    expect(await cli(['agents', 'rotate', 'nobody', '--grace', 'soon'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--grace "soon"/) });
    expect(await cli(['agents', 'rotate', 'nobody'])).toMatchObject({ code: 1, stderr: 'no agent named nobody' });
    expect(await cli(['agents', 'revoke'])).toMatchObject({ code: 2 });
  });
});
