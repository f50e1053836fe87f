import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/audit/verify';
import { APPROVE_ACTION_ID } from '../../src/slack/blocks/approval-card';
import { ALICE, AUTOMATION_OPS_CHANNEL, actionRequest, eventually } from '../support/harness';
import { startPrivatePgBouncer, type PrivatePgBouncer } from '../support/private-pgbouncer';
import { blockText, startSlackHarness, type SlackHarness } from '../support/slack';

/**
 * The flows through Debian's PgBouncer (1.18) in transaction pooling mode, with a pool of 10 server
 * connections for the app's 10, so consecutive statements of one client connection land on different
 * server connections. (With 3, and once with 6, the app hung: the periodic tasks each hold a transaction, for their
 * advisory lock, while their work waits for another connection; docs/operations.md says how to size it.) PgBouncer before 1.21 does not carry prepared statements across them:
 * COUNTERSIGN_DB_PREPARED_STATEMENTS=false makes every statement unnamed (docs/operations.md, "PgBouncer").
 * No feature needs a session: no LISTEN (long polls poll), advisory locks are transaction-scoped.
 */
let pgb: PrivatePgBouncer;
let h: SlackHarness;

beforeAll(async () => {
  pgb = await startPrivatePgBouncer({ host: '127.0.0.1', port: 5432 }, { poolSize: 10 });
  h = await startSlackHarness({
    databaseUrl: (direct) => pgb.url(new URL(direct).pathname.slice(1)),
    env: { COUNTERSIGN_DB_PREPARED_STATEMENTS: 'false' },
  });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await pgb?.close();
});

const readRequest = (n: number) =>
  actionRequest({ action_class: 'external_automation.read.jobs', params: { job: `pgb-${n}` }, context: {}, justification: 'read through pgbouncer' });

describe('through PgBouncer in transaction mode', () => {
  it('the allow path under concurrency: every action committed once, replays answered from the first write', async () => {
    const requests = Array.from({ length: 40 }, (_, i) => readRequest(i));
    const first = await Promise.all(requests.map((r) => h.post(r)));
    expect(first.map((r) => r.status)).toEqual(Array(40).fill(201));
    const again = await Promise.all(requests.map((r) => h.post(r)));
    expect(again.map((r) => r.body.id)).toEqual(first.map((r) => r.body.id));
    expect(again.every((r) => r.headers.get('idempotent-replayed') === 'true')).toBe(true);
    const ids = first.map((r) => r.body.id as string);
    await eventually(async () => (await Promise.all(ids.map((id) => h.status(id)))).every((s) => s === 'committed'), 30_000, 'all committed');
    const perAction = new Map<string, number>();
    for (const c of h.executor.calls) perAction.set(String(c.body.action_id), (perAction.get(String(c.body.action_id)) ?? 0) + 1);
    expect(ids.map((id) => perAction.get(id))).toEqual(Array(40).fill(1));
    // The evidence chain holds across pooled connections.
    expect((await verifyChain(h.db.db)).break).toBeNull();
    // The app's connections really went through the bouncer.
    expect(pgb.log()).toMatch(new RegExp(`login attempt: db=${h.db.name} user=postgres`));
  }, 60_000);

  it('an approval in Slack, a long poll and the release: the whole story', async () => {
    const created = await h.post(actionRequest());
    expect(created.body.status).toBe('pending_approval');
    const id: string = created.body.id;
    const waiting = h.get(`/v1/actions/${id}?wait=20&status=pending_approval`);
    const card = await h.slack.waitForMessage(AUTOMATION_OPS_CHANNEL, (m) => blockText(m.blocks ?? []).includes(id), { timeoutMs: 10_000 });
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
    expect((await waiting).body.status).not.toBe('pending_approval');
    await eventually(async () => (await h.status(id)) === 'committed', 15_000, 'committed');
    expect((await h.events(id)).map((e) => e.type)).toEqual(expect.arrayContaining(['action.requested', 'approval.recorded', 'commit.succeeded']));
  }, 60_000);
});
