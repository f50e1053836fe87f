import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/config/env';
import { runDemo } from '../../src/cli/demo';
import { SANDBOX_CHANNEL } from '../../src/sandbox/config';
import {
  APPROVE_ACTION_ID,
  APPROVE_SIMILAR_ACTION_ID,
  EDIT_ACTION_ID,
  EDIT_PARAMS_BLOCK,
  EDIT_PARAMS_INPUT,
  EDIT_VIEW_ID,
  GRANT_COUNT_BLOCK,
  GRANT_COUNT_INPUT,
  GRANT_DURATION_BLOCK,
  GRANT_DURATION_INPUT,
  GRANT_VIEW_ID,
  ROLLBACK_ACTION_ID,
} from '../../src/slack/interaction-ids';
import { eq } from 'drizzle-orm';
import { actions } from '../../src/db/schema';
import { eventually } from '../support/harness';
import { startSandboxInstance, type SandboxInstance } from './support';

let h: SandboxInstance;
beforeAll(async () => {
  h = await startSandboxInstance();
});
afterAll(async () => {
  await h?.close();
});

describe('npm run demo -- --tour: the four approval features in the sandbox', () => {
  it('edits, rolls back, grants and admits an overrun, with a person pressing the buttons the tour names', { timeout: 120_000 }, async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s), readStdin: async () => '' };
    const slack = h.app.sandbox!.emulator;
    const channel = SANDBOX_CHANNEL.id;
    const text = (m: { blocks?: unknown[] }) => JSON.stringify(m.blocks ?? []);
    const card = (predicate: (t: string) => boolean, description: string) =>
      slack.waitForMessage(channel, (m) => (!m.thread_ts || m.thread_ts === m.ts) && predicate(text(m)), { timeoutMs: 30_000, description });
    const view = (callbackId: string) => slack.waitForView((v) => v.isOpen && v.callback_id === callbackId && v.user === 'U0ALEX', { timeoutMs: 20_000 });

    // The person at the sandbox page, as Alex (an approver).
    const person = (async () => {
      const wrong = await card((t) => t.includes('0 3 * * * *') && t.includes(EDIT_ACTION_ID), 'the workflow card');
      await slack.clickButton({ user: 'U0ALEX', channel, ts: wrong.ts, actionId: EDIT_ACTION_ID });
      const edit = await view(EDIT_VIEW_ID);
      const params = JSON.parse(JSON.stringify(edit.view.blocks)).find((b: { block_id?: string }) => b.block_id === EDIT_PARAMS_BLOCK).element.initial_value as string;
      await slack.submitView({ viewId: edit.id, user: 'U0ALEX', values: { [EDIT_PARAMS_BLOCK]: { [EDIT_PARAMS_INPUT]: params.replace('0 3 * * * *', '0 3 * * *') } } });

      const run = await card((t) => t.includes('run-1') && t.includes(APPROVE_SIMILAR_ACTION_ID), 'the first run card');
      await slack.clickButton({ user: 'U0ALEX', channel, ts: run.ts, actionId: APPROVE_SIMILAR_ACTION_ID });
      const grant = await view(GRANT_VIEW_ID);
      await slack.submitView({ viewId: grant.id, user: 'U0ALEX', values: { [GRANT_DURATION_BLOCK]: { [GRANT_DURATION_INPUT]: '3600' }, [GRANT_COUNT_BLOCK]: { [GRANT_COUNT_INPUT]: '5' } } });

      const over = await card((t) => t.includes('Over budget'), 'the over-budget card');
      await slack.clickButton({ user: 'U0ALEX', channel, ts: over.ts, actionId: APPROVE_ACTION_ID });
      return wrong;
    })();

    const code = await runDemo(['--url', h.app.url, '--tour', '--wait', '60'], io, parseEnv({ PORT: '0' })).catch((e: unknown) => {
      throw new Error(`${(e as Error).message}\n${out.join('\n')}`);
    });
    const workflowCard = await person;
    expect(err).toEqual([]);
    expect(code).toBe(0);
    const said = out.join('\n');
    expect(said).toMatch(/1\. Approve with edits[\s\S]*→ committed; edited by slack:U0ALEX: schedule "0 3 \* \* \* \*" → "0 3 \* \* \*"/);
    expect(said).toMatch(/2\. Rollback[\s\S]*press "Roll back"/);
    expect(said).toMatch(/run 2: approved at once by standing grant grt_\w+/);
    expect(said).toMatch(/run 3: approved at once by standing grant grt_\w+/);
    expect(said).toMatch(/held for approval: budget demo-reads: this would bring today's total \([0-9-]+ UTC\) to 4 of 3/);
    expect(said).toMatch(/4\. A budget that asks[\s\S]*→ (approved|queued|executing|committed)/);

    // Roll back, as Sam, in the workflow's thread; Alex approves the rollback (Sam asked for it, so Sam cannot).
    const reply = await slack.waitForMessage(channel, (m) => m.thread_ts === workflowCard.ts && m.ts !== workflowCard.ts && text(m).includes(ROLLBACK_ACTION_ID), { timeoutMs: 20_000 });
    await slack.clickButton({ user: 'U0SAM', channel, ts: reply.ts, actionId: ROLLBACK_ACTION_ID });
    const told = await slack.waitFor(() => slack.ephemerals(channel, 'U0SAM').find((e) => /Rollback filed|Not rolled back|could not/.test(e.text)), { timeoutMs: 20_000, description: 'the answer to Roll back' });
    expect(told.text).toMatch(/Rollback filed as `act_\w+` on your behalf \(pending approval\)/);
    const rollback = await card((t) => t.includes('external_automation.workflow.disable'), 'the rollback card');
    await slack.clickButton({ user: 'U0ALEX', channel, ts: rollback.ts, actionId: APPROVE_ACTION_ID });
    const id = /Action `(act_\w+)`/.exec(text(rollback))![1]!;
    // The rollback belongs to the tour's agent: its status is read from the database.
    await eventually(async () => {
      const [row] = await h.db.db.select({ status: actions.status, rollbackOf: actions.rollbackOf }).from(actions).where(eq(actions.id, id));
      return row?.status === 'committed' && row.rollbackOf ? true : null;
    }, 20_000, 'rollback committed');
  });
});
