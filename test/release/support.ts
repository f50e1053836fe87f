import { eq } from 'drizzle-orm';
import { createAgent } from '../../src/auth/agents';
import { actions, commitOutbox, type ActionRow } from '../../src/db/schema';
import { payloadHash } from '../../src/intake/payload-hash';
import { newId } from '../../src/lib/ids';
import { loadPolicyBundle, type Decision, type PolicyBundle } from '../../src/policy';
import type { ReleaseDeps } from '../../src/release';
import { createTestDb, type TestDb } from '../support/db';
import { startTestExecutor } from '../support/executor-server';
import { EXECUTOR_SECRET, testConfig } from '../support/harness';

export async function seedPolicy(): Promise<PolicyBundle> {
  const loaded = await loadPolicyBundle('policies');
  if (!loaded.ok) throw new Error(`seed policy did not load: ${JSON.stringify(loaded.errors)}`);
  return loaded.bundle;
}

/** A bundle whose every decision is `decision` (re-checks against a policy that changed since approval). */
export function fixedPolicy(base: PolicyBundle, decision: Partial<Decision>): PolicyBundle {
  return { ...base, evaluate: (input) => ({ ...base.evaluate(input), ...decision }) } as PolicyBundle;
}

export type ReleaseFixture = Awaited<ReturnType<typeof startReleaseFixture>>;

/** A database, a test executor and release deps, without HTTP or queues: releaseCommit called directly. */
export async function startReleaseFixture(opts: { configExtra?: string; executor?: Parameters<typeof startTestExecutor>[1] } = {}) {
  const db = await createTestDb();
  const executor = await startTestExecutor(EXECUTOR_SECRET, opts.executor);
  const config = testConfig(executor.url, opts.configExtra ?? '');
  const seed = await seedPolicy();
  let policy = seed;
  const { agent } = await createAgent(db.db, { name: 'release-bot', owner: 'platform', scopes: ['external_automation.*'] }, 'admin:test');
  const announced: string[] = [];
  const reapprovals: string[] = [];
  const deps: ReleaseDeps = {
    db: db.db,
    config,
    policy: { current: () => policy },
    announce: (id) => announced.push(id),
    requestApproval: (id) => reapprovals.push(id),
    leaseGraceMs: 1000,
  };
  return {
    db,
    executor,
    config,
    deps,
    agentId: agent.id,
    announced,
    reapprovals,
    seed,
    setPolicy(p: PolicyBundle) {
      policy = p;
    },
    /** Inserts an approved action with its commit intent, as the intake or an approval would. */
    insertApproved: (o: Partial<typeof actions.$inferInsert> = {}) => insertApproved(db, agent.id, o),
    row: async (id: string): Promise<ActionRow> => (await db.db.select().from(actions).where(eq(actions.id, id)))[0]!,
    events: async (id: string) =>
      (await db.sql`select type, data from audit_events where action_id = ${id} order by seq`) as unknown as Array<{ type: string; data: any }>,
    async close() {
      await executor.close();
      await db.drop();
    },
  };
}

export async function insertApproved(db: TestDb, agentId: string, o: Partial<typeof actions.$inferInsert> = {}): Promise<string> {
  const id = o.id ?? newId('action');
  const actionClass = o.actionClass ?? 'external_automation.read.jobs';
  const params = o.params ?? { job: id };
  const context = o.context ?? {};
  const hash = payloadHash({ action_class: actionClass, params, context, executor: 'automation' });
  const now = new Date();
  await db.db.transaction(async (tx) => {
    await tx.insert(actions).values({
      id,
      agentId,
      actionClass,
      params,
      context,
      executor: 'automation',
      idempotencyKey: `k-${id}`,
      requestHash: hash,
      correlationId: `corr-${id}`,
      payloadHash: hash,
      status: 'approved',
      decision: 'allow',
      ruleId: 'allow-automation-readonly',
      reasoning: 'read-only',
      policyVersion: 'test',
      approvedAt: now,
      approvedPayloadHash: hash,
      createdAt: now,
      updatedAt: now,
      ...o,
    });
    await tx.insert(commitOutbox).values({ actionId: id });
  });
  return id;
}
