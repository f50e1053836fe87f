import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { auditEvents } from '../../src/db/schema';
import { AUDIT_REPLY_LIMIT, parseAuditCommand } from '../../src/slack/listeners/commands/audit-reply';
import { AUDIT_REFUSAL } from '../../src/slack/listeners/commands/audit';
import { startSlackEmulator, type SlackEmulator } from '../../src/slack-emulator';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, BOT_TOKEN, MALLORY, SIGNING_SECRET, actionRequest, startHarness, testConfig, type Harness } from '../support/harness';
import { appendSample } from './support';

describe('parseAuditCommand', () => {
  it('reads every form', () => {
    expect(parseAuditCommand('')).toEqual({ kind: 'help' });
    expect(parseAuditCommand('help')).toEqual({ kind: 'help' });
    expect(parseAuditCommand('recent')).toEqual({ kind: 'recent' });
    expect(parseAuditCommand('  act_123abc ')).toEqual({ kind: 'action', id: 'act_123abc' });
    expect(parseAuditCommand('corr corr-9')).toEqual({ kind: 'corr', id: 'corr-9' });
    expect(parseAuditCommand('agent deploy-bot')).toEqual({ kind: 'agent', name: 'deploy-bot', since: '24h' });
    expect(parseAuditCommand('agent deploy-bot since 7d')).toEqual({ kind: 'agent', name: 'deploy-bot', since: '7d' });
    expect(parseAuditCommand('agent deploy-bot since 2026-01-01T00:00:00Z')).toMatchObject({ kind: 'agent', since: '2026-01-01T00:00:00Z' });
  });

  it('says what is wrong with a malformed command', () => {
    expect(parseAuditCommand('corr')).toMatchObject({ kind: 'invalid' });
    expect(parseAuditCommand('agent')).toMatchObject({ kind: 'invalid' });
    expect(parseAuditCommand('agent x since tomorrow')).toMatchObject({ kind: 'invalid' });
    expect(parseAuditCommand('agent x until 1h')).toMatchObject({ kind: 'invalid' });
    expect(parseAuditCommand('show me everything')).toMatchObject({ kind: 'invalid' });
  });
});

describe('/audit through Slack (emulator, signed slash commands)', () => {
  let h: Harness & { slack: SlackEmulator };
  let actionId: string;
  let correlationId: string;

  beforeAll(async () => {
    // BOB is an auditor; MALLORY is not.
    const slack = await startSlackEmulator({
      botToken: BOT_TOKEN,
      signingSecret: SIGNING_SECRET,
      channels: [{ id: AUTOMATION_OPS_CHANNEL, name: 'automation-ops' }],
      users: [
        { id: ALICE, name: 'alice' },
        { id: BOB, name: 'bob' },
        { id: MALLORY, name: 'mallory' },
      ],
    });
    // Nothing is executed here: the executor URL is never called.
    const config = testConfig('http://127.0.0.1:9/execute', `auditors: { members: [${BOB}] }`);
    const base = await startHarness({ slackApiUrl: slack.apiUrl, start: { config } });
    slack.setEventsUrl(`${base.app.url}/slack/events`);
    h = { ...base, slack, close: async () => (await base.close(), await slack.close()) };
    const req = actionRequest({ params: { name: 'nightly', api_key: 'sk-live-abc', target_count: 3 } });
    correlationId = String(req.correlation_id);
    const res = await h.post(req);
    actionId = res.body.id;
  });
  afterAll(async () => h?.close());

  async function run(user: string, text: string) {
    const before = h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, user).length;
    const delivery = await h.slack.slashCommand({ command: '/audit', text, user, channel: AUTOMATION_OPS_CHANNEL });
    expect(delivery.ok).toBe(true); // acknowledged within Slack's 3 seconds
    const reply = await h.slack.waitFor(() => h.slack.ephemerals(AUTOMATION_OPS_CHANNEL, user)[before], { timeoutMs: 10_000, description: `/audit ${text} reply` });
    expect(reply.source).toBe('response_url');
    const posts = h.slack.responseUrlPosts({ user });
    expect(posts.at(-1)!.effect).toBe('ephemeral');
    return { text: reply.text, blocks: JSON.stringify(reply.blocks ?? []) };
  }

  it('shows an action as a readable timeline, ephemerally, to an auditor', async () => {
    const r = await run(BOB, actionId);
    expect(r.blocks).toContain(actionId);
    expect(r.blocks).toContain('action.requested');
    expect(r.blocks).toContain('policy.decided');
    expect(r.blocks).toMatch(/deploy-bot asked for external_automation.workflow.create/);
    expect(r.blocks).not.toContain('sk-live-abc');
    // Nobody else saw it: no channel message carries the timeline.
    expect(h.slack.messages(AUTOMATION_OPS_CHANNEL).some((m) => JSON.stringify(m.blocks).includes('policy.decided'))).toBe(false);
    const queried = await h.db.db.select().from(auditEvents).where(eq(auditEvents.type, 'audit.queried'));
    expect(queried.at(-1)).toMatchObject({ actor: `slack:${BOB}`, data: { query: { kind: 'action', id: actionId } } });
  });

  it('refuses someone outside the auditors group and records the attempt', async () => {
    const r = await run(MALLORY, actionId);
    expect(r.text).toBe(AUDIT_REFUSAL);
    expect(r.blocks).not.toContain('policy.decided');
    const refused = await h.db.db.select().from(auditEvents).where(eq(auditEvents.type, 'audit.access_refused'));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ actor: `slack:${MALLORY}`, data: { command: '/audit', text: actionId, channel: AUTOMATION_OPS_CHANNEL } });
  });

  it('answers corr, recent and help', async () => {
    const corr = await run(BOB, `corr ${correlationId}`);
    expect(corr.blocks).toContain(correlationId);
    expect(corr.blocks).toContain('action.requested');
    const recent = await run(BOB, 'recent');
    expect(recent.blocks).toContain('Latest events');
    const help = await run(BOB, 'help');
    expect(help.blocks).toContain('/audit agent NAME');
    const unknown = await run(BOB, 'act_doesnotexist');
    expect(unknown.blocks).toContain('No events for action');
  });

  it('says how many when the result is large, and points to the export', async () => {
    const agentId = (await h.db.sql<{ id: string }[]>`select id from agents where name = 'deploy-bot'`)[0]!.id;
    await appendSample(h.db.db, AUDIT_REPLY_LIMIT + 15, { agentId });
    const r = await run(BOB, 'agent deploy-bot since 1h');
    expect(r.blocks).toMatch(new RegExp(`Showing ${AUDIT_REPLY_LIMIT} of \\d+ events`));
    expect(r.blocks).toContain('countersign audit export --since 1h --agent deploy-bot');
    const none = await run(BOB, 'agent nobody-bot');
    expect(none.blocks).toContain('No agent named');
  });
});
