import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, inArray } from 'drizzle-orm';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { actions, agents, auditEvents, budgetCounters, commitOutbox } from '../../src/db/schema';
import { runCli } from '../../src/cli/main';
import type { CliIo } from '../../src/cli/io';
import { handleCountersignCommand, ADMIN_REFUSAL } from '../../src/slack/listeners/commands/countersign';
import { CARD_QUEUE } from '../../src/queue/card-queue';
import { createCommitQueue } from '../../src/queue/commit-queue';
import { relayOutbox } from '../../src/queue/relay';
import { startCountersign, type Countersign } from '../../src/main';
import { REDIS_URL } from '../support/redis';
import { actionRequest, eventually, startHarness, type Harness } from '../support/harness';
import { ADMIN_BOOTSTRAP, ADMIN_SLACK_USER, addAgent, admin, controlsConfig, postTo } from './support';

const BUDGETS = `  - { name: daily-reads, per: agent_day, max: 100, action_classes: ["external_automation.read.*"] }\n`;

let h: Harness;
let redis: Redis;
let cardQueue: Queue;
let workers: Countersign | null = null;

beforeAll(async () => {
  // No workers at first: approved and queued work stays unreleased until the drill has pulled the switch.
  h = await startHarness({
    configFor: (url) => controlsConfig(url, { budgets: BUDGETS }),
    start: { workers: false },
    env: { COUNTERSIGN_ADMIN_TOKEN: ADMIN_BOOTSTRAP },
    executor: { respond: (call) => ({ status: 200, body: { ok: true }, delayMs: (call.body.params as { slow?: boolean }).slow ? 1500 : 0 }) },
  });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  cardQueue = new Queue(CARD_QUEUE, { connection: redis, prefix: h.prefix });
});
afterAll(async () => {
  await workers?.close();
  await cardQueue?.close();
  redis?.disconnect();
  await h?.close();
});

/** Runs the CLI in-process against the harness's database and Redis prefix, as operator `who`. */
async function cli(args: string[], who = 'drill-operator') {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), readStdin: async () => '' };
  const saved = { ...process.env };
  Object.assign(process.env, { DATABASE_URL: h.db.url, REDIS_URL, COUNTERSIGN_QUEUE_PREFIX: h.prefix, COUNTERSIGN_OPERATOR: who });
  try {
    const code = await runCli(args, io);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    for (const k of ['DATABASE_URL', 'REDIS_URL', 'COUNTERSIGN_QUEUE_PREFIX', 'COUNTERSIGN_OPERATOR']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

const read = (extra: Record<string, unknown> = {}) => actionRequest({ action_class: 'external_automation.read.jobs', context: {}, ...extra });

describe('kill switch drill', () => {
  it('suspends the agent, revokes its token, cancels pending and queued work, updates cards, and audits who and when', async () => {
    // An agent with work in every unreleased state: pending approval, queued (in BullMQ) and approved (in the outbox).
    const pending = (await h.post(actionRequest())).body;
    expect(pending.status).toBe('pending_approval');
    const queued = (await h.post(read())).body;
    const commitQueue = createCommitQueue(redis, h.prefix);
    await relayOutbox(h.db.db, commitQueue);
    await commitQueue.close();
    const approved = (await h.post(read())).body;
    const states = await h.db.db.select({ id: actions.id, status: actions.status }).from(actions).where(inArray(actions.id, [pending.id, queued.id, approved.id]));
    expect(Object.fromEntries(states.map((s) => [s.id, s.status]))).toEqual({ [pending.id]: 'pending_approval', [queued.id]: 'queued', [approved.id]: 'approved' });
    const [reservedBefore] = await h.db.db.select().from(budgetCounters).where(eq(budgetCounters.scopeKey, h.agentId));
    expect(Number(reservedBefore!.reserved)).toBe(2);

    const before = Date.now();
    const run = await cli(['kill', 'deploy-bot', '--reason', 'tabletop drill', '--json']);
    const after = Date.now();
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ agent: { id: h.agentId, name: 'deploy-bot' }, by: 'admin:cli:drill-operator', already_suspended: false, executing: [] });
    expect(result.cancelled.sort()).toEqual([pending.id, queued.id, approved.id].sort());
    expect(result.tokens_revoked).toHaveLength(1);

    // The token is refused at once (401), and the agent is suspended.
    const refused = await h.post(read());
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('unauthenticated');
    const [agent] = await h.db.db.select().from(agents).where(eq(agents.id, h.agentId));
    expect(agent).toMatchObject({ status: 'suspended', suspendedBy: 'admin:cli:drill-operator' });

    // Every unreleased action is cancelled, with who did it; its budget reservation is given back.
    const rows = await h.db.db.select().from(actions).where(inArray(actions.id, result.cancelled));
    for (const r of rows) {
      expect(r.status).toBe('cancelled');
      expect(r.failure).toMatchObject({ reason: 'cancelled by the kill switch', by: 'admin:cli:drill-operator', why: 'tabletop drill' });
    }
    const [reservedAfter] = await h.db.db.select().from(budgetCounters).where(eq(budgetCounters.scopeKey, h.agentId));
    expect(Number(reservedAfter!.reserved)).toBe(0);

    // The approval card of the pending action is updated ("Cancelled" by the card builder); the others had none.
    expect(result.cards).toEqual([pending.id]);
    const jobs = await cardQueue.getJobs(['waiting', 'delayed', 'active']);
    expect(jobs.filter((j) => j.data.kind === 'update').map((j) => j.data.action_id)).toContain(pending.id);

    // The evidence says who pulled the switch and when.
    const killed = await h.db.db.select().from(auditEvents).where(and(eq(auditEvents.agentId, h.agentId), eq(auditEvents.type, 'agent.killed')));
    expect(killed).toHaveLength(1);
    expect(killed[0]!.actor).toBe('admin:cli:drill-operator');
    expect(killed[0]!.createdAt.getTime()).toBeGreaterThanOrEqual(before - 5);
    expect(killed[0]!.createdAt.getTime()).toBeLessThanOrEqual(after + 5);
    expect(killed[0]!.data).toMatchObject({ reason: 'tabletop drill', name: 'deploy-bot', revoked_ids: result.tokens_revoked });
    const cancelledEvents = await h.db.db.select().from(auditEvents).where(eq(auditEvents.type, 'action.cancelled'));
    expect(cancelledEvents.map((e) => e.actionId).sort()).toEqual([...result.cancelled].sort());
    expect(cancelledEvents.every((e) => e.actor === 'admin:cli:drill-operator')).toBe(true);

    // Now start the workers: the relay and the worker run, and still nothing of the agent reaches the executor.
    workers = await startCountersign(h.env, { config: h.app.config, api: false, reconcileEveryMs: 200 });
    const commits = new Queue('commits', { connection: redis, prefix: h.prefix });
    try {
      await eventually(async () => {
        const [left] = await h.db.db.select().from(commitOutbox).where(eq(commitOutbox.actionId, approved.id));
        const counts = await commits.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
        return left?.enqueuedAt && Object.values(counts).every((n) => n === 0);
      }, 15_000, 'the relay and the commit worker to drain');
    } finally {
      await commits.close();
    }
    expect(h.executor.calls).toHaveLength(0);
    const still = await h.db.db.select({ status: actions.status }).from(actions).where(inArray(actions.id, result.cancelled));
    expect(still.every((r) => r.status === 'cancelled')).toBe(true);
  });

  it('resume lifts the suspension but the old token stays dead until a new one is issued', async () => {
    const res = await cli(['resume', 'deploy-bot']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/agents rotate deploy-bot/);
    expect((await h.post(read())).status).toBe(401);
    const rotated = await cli(['agents', 'rotate', 'deploy-bot', '--json']);
    const { token } = JSON.parse(rotated.stdout);
    const ok = await postTo(h.app.url, token, read());
    expect(ok.status).toBe(201);
    const [resumed] = await h.db.db.select().from(auditEvents).where(eq(auditEvents.type, 'agent.resumed'));
    expect(resumed).toMatchObject({ actor: 'admin:cli:drill-operator', agentId: h.agentId });
  });

  it('lets an executor call in flight finish and be recorded, and releases nothing after it', async () => {
    const bot = await addAgent(h);
    const slow = (await postTo(h.app.url, bot.token, read({ params: { slow: true } }))).body;
    await eventually(async () => (await h.db.db.select().from(actions).where(eq(actions.id, slow.id)))[0]?.status === 'executing', 10_000, 'executing');
    const killed = await admin(h.app.url, 'POST', `/agents/${bot.agent.name}/kill`, { reason: 'in-flight drill' });
    expect(killed.status).toBe(200);
    expect(killed.body).toMatchObject({ executing: [slow.id], cancelled: [], by: 'admin:bootstrap' });
    const done = await eventually(async () => {
      const [row] = await h.db.db.select().from(actions).where(eq(actions.id, slow.id));
      return row?.status === 'committed' ? row : null;
    }, 10_000, 'the in-flight call to be recorded');
    expect(done.result).toEqual({ ok: true });
    const types = (await h.db.db.select().from(auditEvents).where(eq(auditEvents.agentId, bot.agent.id)).orderBy(auditEvents.seq)).map((e) => e.type);
    expect(types.indexOf('agent.killed')).toBeLessThan(types.indexOf('commit.succeeded'));
    expect(h.executor.calls.filter((c) => c.body.action_id === slow.id)).toHaveLength(1);
  });

  it('serialises with a kill in progress: a request already past auth is refused, not recorded', async () => {
    const bot = await addAgent(h);
    const body = read();
    let pending: Promise<{ status: number; body: any }> | null = null;
    // A kill in its transaction: the agent row is locked and marked suspended, not yet committed.
    await h.db.sql.begin(async (tx) => {
      await tx`select id from agents where id = ${bot.agent.id} for update`;
      await tx`update agents set status = 'suspended' where id = ${bot.agent.id}`;
      pending = postTo(h.app.url, bot.token, body);
      await eventually(async () => {
        const [w] = await h.db.sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
        return w!.n > 0;
      }, 10_000, 'the request to wait for the agent row');
    });
    const res = await pending!;
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('agent-suspended');
    const rows = await h.db.db.select().from(actions).where(eq(actions.idempotencyKey, body.idempotency_key as string));
    expect(rows).toHaveLength(0);
  });

  it('kills every agent with --all', async () => {
    await addAgent(h);
    const res = await cli(['kill', '--all', '--json'], 'ops-lead');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).length).toBeGreaterThanOrEqual(3);
    const rows = await h.db.db.select({ status: agents.status }).from(agents);
    expect(rows.every((r) => r.status === 'suspended')).toBe(true);
  });
});

describe('/countersign kill in Slack', () => {
  const directory = { isMember: async (group: string, user: string) => group === 'admins' && user === ADMIN_SLACK_USER };

  it('is refused (and recorded) for anyone outside the admins group', async () => {
    const bot = await addAgent(h);
    const replies: string[] = [];
    await handleCountersignCommand({ db: h.db.db, directory }, { userId: 'U0MALLORY', text: `kill ${bot.agent.name}`, channelId: 'C0OPS' }, async (m) => void replies.push(m.text));
    expect(replies).toEqual([ADMIN_REFUSAL]);
    const [row] = await h.db.db.select().from(agents).where(eq(agents.id, bot.agent.id));
    expect(row!.status).toBe('active');
    const [evt] = await h.db.db.select().from(auditEvents).where(eq(auditEvents.type, 'admin.access_refused'));
    expect(evt).toMatchObject({ actor: 'slack:U0MALLORY' });
    expect((await postTo(h.app.url, bot.token, read())).status).toBe(201);
  });

  it('kills and resumes for an admin, recorded as the Slack user, and asks for the cards to be updated', async () => {
    const bot = await addAgent(h);
    const pending = (await postTo(h.app.url, bot.token, actionRequest())).body;
    const replies: string[] = [];
    const updated: string[] = [];
    const deps = { db: h.db.db, directory, afterCancel: (ids: string[]) => void updated.push(...ids) };
    await handleCountersignCommand(deps, { userId: ADMIN_SLACK_USER, text: `kill ${bot.agent.name}`, channelId: 'C0OPS' }, async (m) => void replies.push(m.text));
    expect(replies[0]).toMatch(new RegExp(`${bot.agent.name}\\* is suspended and 1 token\\(s\\) revoked; 1 action\\(s\\) cancelled`));
    expect(updated).toEqual([pending.id]);
    expect((await postTo(h.app.url, bot.token, read())).status).toBe(401);
    const [evt] = await h.db.db.select().from(auditEvents).where(and(eq(auditEvents.agentId, bot.agent.id), eq(auditEvents.type, 'agent.killed')));
    expect(evt!.actor).toBe(`slack:${ADMIN_SLACK_USER}`);
    await handleCountersignCommand(deps, { userId: ADMIN_SLACK_USER, text: `resume ${bot.agent.name}`, channelId: 'C0OPS' }, async (m) => void replies.push(m.text));
    expect(replies[1]).toMatch(/active again/);
    await handleCountersignCommand(deps, { userId: ADMIN_SLACK_USER, text: 'kill no-such-agent', channelId: 'C0OPS' }, async (m) => void replies.push(m.text));
    expect(replies[2]).toBe('no agent named no-such-agent');
  });
});
