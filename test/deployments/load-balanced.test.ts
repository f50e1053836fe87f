import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq } from 'drizzle-orm';
import { createAgent } from '../../src/auth/agents';
import { parseEnv } from '../../src/config/env';
import { auditEvents } from '../../src/db/schema';
import { startCountersign, type Countersign } from '../../src/main';
import { APPROVE_ACTION_ID } from '../../src/slack/blocks/approval-card';
import { startSlackEmulator, type DeliveryResult, type SlackEmulator } from '../../src/slack-emulator';
import { createTestDb, type TestDb } from '../support/db';
import { startTestExecutor } from '../support/executor-server';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, BOT_TOKEN, EXECUTOR_SECRET, MALLORY, SIGNING_SECRET, actionRequest, eventually } from '../support/harness';
import { startRoundRobin, type LoadBalancer } from '../support/load-balancer';
import { REDIS_URL, deletePrefix, uniquePrefix } from '../support/redis';
import { APP_TOKEN, blockText, hasButtons, slackTestConfig, type Transport } from '../support/slack';

/**
 * Several instances behind one address (docs/operations.md, "Several instances behind one address"): two
 * Countersign instances on one database and one Redis prefix, Slack's requests and the agents' requests
 * landing on either. In HTTP mode a round-robin load balancer alternates every request between them; in
 * Socket Mode each instance holds its own connection and Slack (the emulator) spreads envelopes across them.
 * Approvals, quorums, double clicks, /audit and the kill switch must behave as they do with one instance.
 */
const POLICY = `
name: load-balanced
version: "1"
rules:
  - id: allow-reads
    applies_to: { action_class: [external_automation.read.*] }
    decision: allow
    reasoning: Reads are allowed.
  - id: escalate-default
    applies_to: { action_class: [external_automation.workflow.create] }
    decision: escalate
    escalation: { via: automation-ops }
    reasoning: Workflow \${name} needs automation-ops approval.
  - id: escalate-quorum
    applies_to: { action_class: [external_automation.job.run] }
    decision: escalate
    escalation: { via: automation-ops, approvals: 2 }
    reasoning: Running a job needs two automation-ops approvals.
`;

type Stack = {
  slack: SlackEmulator;
  db: TestDb;
  apps: Countersign[];
  lb: LoadBalancer;
  executor: Awaited<ReturnType<typeof startTestExecutor>>;
  token: string;
  post(body: unknown, base?: string): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
};

async function startTwo(transport: Transport): Promise<Stack> {
  const slack = await startSlackEmulator({
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    appToken: APP_TOKEN,
    channels: [{ id: AUTOMATION_OPS_CHANNEL, name: 'automation-ops' }],
    users: [
      { id: ALICE, name: 'alice' },
      { id: BOB, name: 'bob' },
      { id: MALLORY, name: 'mallory' },
    ],
  });
  const db = await createTestDb();
  const prefix = uniquePrefix('lb');
  const executor = await startTestExecutor(EXECUTOR_SECRET);
  const policyDir = mkdtempSync(join(tmpdir(), 'countersign-lb-'));
  writeFileSync(join(policyDir, 'load-balanced.yaml'), POLICY);
  const env = parseEnv({
    DATABASE_URL: db.url,
    REDIS_URL,
    PORT: '0',
    COUNTERSIGN_QUEUE_PREFIX: prefix,
    COUNTERSIGN_POLICIES: policyDir,
    COUNTERSIGN_DEPENDENCY_WAIT_MS: '10000',
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    ...(transport === 'socket' ? { SLACK_APP_TOKEN: APP_TOKEN } : {}),
  });
  const config = { ...slackTestConfig(executor.url), admins: { members: [ALICE] }, auditors: { members: [BOB] } };
  const apps = [await startCountersign(env, { config, expiryEveryMs: 200 }), await startCountersign(env, { config, expiryEveryMs: 200 })];
  const lb = await startRoundRobin(apps.map((a) => a.url));
  if (transport === 'http') slack.setEventsUrl(`${lb.url}/slack/events`);
  else await slack.waitFor(() => slack.socketConnections === 2, { timeoutMs: 10_000, description: 'a Socket Mode connection from each instance' });
  const { token } = await createAgent(db.db, { name: 'deploy-bot', owner: 'platform', scopes: ['external_automation.*'] }, 'admin:test');
  const post: Stack['post'] = async (body, base = lb.url) => {
    const res = await fetch(`${base}/v1/actions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  return {
    slack,
    db,
    apps,
    lb,
    executor,
    token,
    post,
    async close() {
      await lb.close();
      for (const a of apps) await a.close();
      await executor.close();
      await slack.close();
      await db.drop();
      await deletePrefix(prefix);
      rmSync(policyDir, { recursive: true, force: true });
    },
  };
}

/** The card posted for an action, once, whichever instance's card worker posted it. */
async function cardFor(s: Stack, actionId: string) {
  const card = await s.slack.waitForMessage(AUTOMATION_OPS_CHANNEL, (m) => !m.thread_ts && blockText(m.blocks).includes(actionId), { timeoutMs: 10_000, description: `the card for ${actionId}` });
  return card;
}

/** The cards posted for an action (chat.postMessage calls without a thread), whichever instance posted them. */
const cardsPosted = (s: Stack, actionId: string) =>
  s.slack.callsTo('chat.postMessage').filter((c) => c.response.ok === true && !c.args.thread_ts && JSON.stringify(c.args.blocks ?? '').includes(actionId));

/** Read from the database, not through the load balancer, so it does not shift which instance takes the next click. */
async function status(s: Stack, id: string): Promise<string> {
  const [row] = await s.db.sql`select status from actions where id = ${id}`;
  return String(row?.status);
}

const callsFor = (s: Stack, id: string) => s.executor.calls.filter((c) => c.body.action_id === id).length;

async function events(s: Stack, id: string, type: string) {
  return s.db.db.select().from(auditEvents).where(and(eq(auditEvents.actionId, id), eq(auditEvents.type, type)));
}

/** /audit as BOB (an auditor); the ephemeral reply through response_url. */
async function audit(s: Stack, text: string): Promise<{ delivery: DeliveryResult; blocks: string }> {
  const before = s.slack.ephemerals(AUTOMATION_OPS_CHANNEL, BOB).length;
  const delivery = await s.slack.slashCommand({ command: '/audit', text, user: BOB, channel: AUTOMATION_OPS_CHANNEL });
  expect(delivery.ok).toBe(true);
  const reply = await s.slack.waitFor(() => s.slack.ephemerals(AUTOMATION_OPS_CHANNEL, BOB)[before], { timeoutMs: 10_000, description: `/audit ${text} reply` });
  // Block ids are random per reply; the content is what must not depend on the instance.
  return { delivery, blocks: blockText(reply.blocks).replace(/"block_id":"[^"]*"/g, '') };
}

describe('two instances in HTTP mode behind a round-robin load balancer', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startTwo('http');
  }, 60_000);
  afterAll(async () => s?.close(), 60_000);

  const eventsBackends = (from: number) => s.lb.served.slice(from).filter((r) => r.path === '/slack/events').map((r) => r.backend);

  it('approvals: cards posted once, clicks landing on either instance, each action released once', async () => {
    const created = await Promise.all(Array.from({ length: 6 }, () => s.post(actionRequest())));
    expect(created.map((r) => r.body.status)).toEqual(Array(6).fill('pending_approval'));
    expect(new Set(s.lb.served.filter((r) => r.path === '/v1/actions').map((r) => r.backend))).toEqual(new Set([0, 1]));
    const from = s.lb.served.length;
    for (const r of created) {
      const card = await cardFor(s, r.body.id);
      const click = await s.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
      expect(click.ok).toBe(true);
    }
    expect(new Set(eventsBackends(from))).toEqual(new Set([0, 1]));
    for (const r of created) {
      await eventually(async () => (await status(s, r.body.id)) === 'committed', 15_000, `${r.body.id} committed`);
      expect(callsFor(s, r.body.id)).toBe(1);
      expect(cardsPosted(s, r.body.id)).toHaveLength(1);
      const ts = String(cardsPosted(s, r.body.id)[0]!.response.ts);
      await s.slack.waitFor(() => !hasButtons(s.slack.message(AUTOMATION_OPS_CHANNEL, ts)!), { timeoutMs: 10_000, description: 'the card without buttons' });
    }
  });

  it('a quorum of two whose approvals land on different instances is approved once', async () => {
    const created = await s.post(actionRequest({ action_class: 'external_automation.job.run', params: { job: 'nightly' } }));
    expect(created.body.status).toBe('pending_approval');
    const card = await cardFor(s, created.body.id);
    const from = s.lb.served.length;
    expect((await s.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE })).ok).toBe(true);
    expect(await status(s, created.body.id)).toBe('pending_approval');
    expect((await s.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: BOB })).ok).toBe(true);
    const [first, second] = eventsBackends(from);
    expect(first).not.toBe(second);
    await eventually(async () => (await status(s, created.body.id)) === 'committed', 15_000, 'committed');
    expect(await events(s, created.body.id, 'approval.recorded')).toHaveLength(2);
    expect(callsFor(s, created.body.id)).toBe(1);
  });

  it('the same request approved by two people at once, one click on each instance: one approval counts, one release', async () => {
    const created = await s.post(actionRequest());
    const card = await cardFor(s, created.body.id);
    const from = s.lb.served.length;
    const clicks = await Promise.all([ALICE, BOB].map((user) => s.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user })));
    expect(clicks.every((c) => c.ok)).toBe(true);
    expect(new Set(eventsBackends(from))).toEqual(new Set([0, 1]));
    await eventually(async () => (await status(s, created.body.id)) === 'committed', 15_000, 'committed');
    expect(await events(s, created.body.id, 'approval.recorded')).toHaveLength(1);
    expect(await events(s, created.body.id, 'commit.succeeded')).toHaveLength(1);
    expect(callsFor(s, created.body.id)).toBe(1);
  });

  it('/audit answers the same whichever instance takes it', async () => {
    const created = await s.post(actionRequest());
    // Let the timeline settle first (its card is posted and recorded), so both answers read the same events.
    await eventually(async () => (await events(s, created.body.id, 'approval.card_posted')).length === 1, 10_000, 'the card posted');
    const a = await audit(s, created.body.id);
    const b = await audit(s, created.body.id);
    const backends = s.lb.served.filter((r) => r.path === '/slack/events').slice(-2).map((r) => r.backend);
    expect(new Set(backends)).toEqual(new Set([0, 1]));
    expect(a.blocks).toContain('action.requested');
    expect(b.blocks).toBe(a.blocks);
  });

  it('the kill switch pulled through one instance holds on both at once, warm credential caches included', async () => {
    const pending = await s.post(actionRequest());
    const card = await cardFor(s, pending.body.id);
    // Both instances have just authenticated the token (and remember it for a few seconds).
    for (const app of s.apps) expect((await s.post(actionRequest({ action_class: 'external_automation.read.jobs', params: { job: 'warm' }, context: {} }), app.url)).status).toBe(201);
    const before = s.slack.ephemerals(AUTOMATION_OPS_CHANNEL, ALICE).length;
    expect((await s.slack.slashCommand({ command: '/countersign', text: 'kill deploy-bot', user: ALICE, channel: AUTOMATION_OPS_CHANNEL })).ok).toBe(true);
    const killedOn = s.lb.served.filter((r) => r.path === '/slack/events').at(-1)!.backend;
    const reply = await s.slack.waitFor(() => s.slack.ephemerals(AUTOMATION_OPS_CHANNEL, ALICE)[before], { timeoutMs: 10_000, description: 'the kill reply' });
    expect(reply.text).toMatch(/deploy-bot\* is suspended/);
    // At once, on the instance that took the command and on the other one.
    const after = await Promise.all(s.apps.map((app) => s.post(actionRequest({ action_class: 'external_automation.read.jobs', params: { job: 'after-kill' }, context: {} }), app.url)));
    expect(after.map((r) => r.status), `killed through instance ${killedOn}`).toEqual([401, 401]);
    expect(after.map((r) => r.body.code)).toEqual([after[0]!.body.code, after[0]!.body.code]);
    await s.slack.waitFor(
      () => {
        const m = s.slack.message(AUTOMATION_OPS_CHANNEL, card.ts)!;
        return blockText(m.blocks).includes('Cancelled') && !hasButtons(m);
      },
      { timeoutMs: 10_000, description: 'the card to say Cancelled' },
    );
    expect(await status(s, pending.body.id).catch(() => 'unreadable')).not.toBe('pending_approval');
  });
});

describe('two instances in Socket Mode, each holding a connection', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startTwo('socket');
  }, 60_000);
  afterAll(async () => s?.close(), 60_000);

  it('interactions and /audit delivered to either connection are handled; each action released once', async () => {
    const created = await Promise.all(Array.from({ length: 4 }, () => s.post(actionRequest())));
    const connections = new Set<string>();
    for (const r of created) {
      const card = await cardFor(s, r.body.id);
      const click = await s.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
      expect(click.ok).toBe(true);
      expect(click.mode).toBe('socket');
      connections.add(click.connectionId!);
    }
    expect(connections.size).toBe(2);
    for (const r of created) {
      await eventually(async () => (await status(s, r.body.id)) === 'committed', 15_000, `${r.body.id} committed`);
      expect(callsFor(s, r.body.id)).toBe(1);
      expect(cardsPosted(s, r.body.id)).toHaveLength(1);
    }
    const a = await audit(s, created[0]!.body.id);
    const b = await audit(s, created[0]!.body.id);
    expect(a.delivery.connectionId).not.toBe(b.delivery.connectionId);
    expect(a.blocks).toContain('commit.succeeded');
    expect(b.blocks).toBe(a.blocks);
  });
});
