import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, inArray } from 'drizzle-orm';
import { actions, budgetReservations } from '../../src/db/schema';
import { startCountersign, type Countersign } from '../../src/main';
import { actionRequest, eventually, startHarness, type Harness } from '../support/harness';
import { addAgent, controlsConfig, postTo } from './support';

// Accepted under these budgets, with no worker running…
const AT_INTAKE = `  - { name: daily-reads, per: agent_day, max: 4, action_classes: ["external_automation.read.*"] }\n`;
// …released by workers whose configuration changed since: daily-reads lowered to 1, a new budget added.
const AT_RELEASE = `  - { name: daily-reads, per: agent_day, max: 1, action_classes: ["external_automation.read.*"] }
  - { name: status-views, per: agent_day, max: 1, action_classes: ["external_automation.status.*"] }
`;

let h: Harness;
let workers: Countersign | null = null;
beforeAll(async () => {
  h = await startHarness({ configFor: (url) => controlsConfig(url, { budgets: AT_INTAKE }), start: { workers: false } });
});
afterAll(async () => {
  await workers?.close();
  await h?.close();
});

async function finalStates(ids: string[]) {
  return eventually(async () => {
    const rows = await h.db.db.select().from(actions).where(inArray(actions.id, ids));
    return rows.every((r) => ['committed', 'refused'].includes(r.status)) ? rows : null;
  }, 15_000, 'the releases to finish');
}

describe('budgets re-checked at release', () => {
  it('a lowered budget stops queued spending; a budget added later reserves at release; refused ones give back', async () => {
    const { token } = await addAgent(h);
    const reads = [];
    for (let i = 0; i < 2; i++) reads.push((await postTo(h.app.url, token, actionRequest({ action_class: 'external_automation.read.jobs', context: {} }))).body.id);
    const views = [];
    for (let i = 0; i < 2; i++) views.push((await postTo(h.app.url, token, actionRequest({ action_class: 'external_automation.status.view', context: {} }))).body.id);

    workers = await startCountersign(h.env, { config: controlsConfig(h.executor.url, { budgets: AT_RELEASE }), api: false });
    const readRows = await finalStates(reads);
    expect(readRows.map((r) => r.status).sort()).toEqual(['committed', 'refused']);
    const refusedRead = readRows.find((r) => r.status === 'refused')!;
    expect(String(refusedRead.failure?.reason)).toMatch(/budget daily-reads now allows 1; 1 is already spent or being spent/);

    const viewRows = await finalStates(views);
    expect(viewRows.map((r) => r.status).sort()).toEqual(['committed', 'refused']);
    expect(String(viewRows.find((r) => r.status === 'refused')!.failure?.reason)).toMatch(/status-views/);

    // Every reservation is settled: spent for the committed ones, given back for the refused ones.
    const held = await h.db.db.select().from(budgetReservations).where(inArray(budgetReservations.actionId, [...reads, ...views]));
    for (const r of held) {
      const status = [...readRows, ...viewRows].find((a) => a.id === r.actionId)!.status;
      expect(r.state).toBe(status === 'committed' ? 'spent' : 'released');
    }
    expect(h.executor.calls).toHaveLength(2);
    const [refusedRow] = await h.db.db.select().from(actions).where(eq(actions.id, refusedRead.id));
    expect(refusedRow!.status).toBe('refused');
  });
});
