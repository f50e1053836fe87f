import { randomBytes } from 'node:crypto';
import type { CliIo } from './io';
import { TERMINAL, postAction, until, type ActionAnswer, type DemoAgent } from './demo-client';

type TourOptions = { waitMs: number; signal: AbortSignal };

/**
 * `npm run demo -- --tour`: the four approval features, one after the other, in the sandbox (docs/sandbox.md):
 * approve with edits, rollback, standing grants and a budget overrun that asks. The agent's side runs here; the
 * human's side is the sandbox page, and the tour says what to press and waits for it.
 */
export async function runTour(agent: DemoAgent, io: CliIo, opts: TourOptions): Promise<number> {
  const run = randomBytes(3).toString('hex');
  const base = { correlation_id: `tour-${run}` };
  const page = `${agent.url}/sandbox/`;
  const decided = (id: string) => until(agent.url, agent.auth, id, (v) => TERMINAL.has(v.status), opts.waitMs, opts.signal);
  const say = (text: string) => io.stdout(text);

  say(`A tour of four approval features. Keep ${page} open beside this terminal.\n`);

  // 1. Approve with edits.
  say('1. Approve with edits — the agent asks for a workflow with a six-field (wrong) cron schedule.');
  const wrong = await postAction(agent, {
    ...base,
    action_class: 'external_automation.workflow.create',
    params: { name: `tour-sync-${run}`, schedule: '0 3 * * * *', targets: ['orders', 'invoices'] },
    idempotency_key: `tour-${run}-edit`,
    justification: 'Create the nightly sync (the schedule has a typo on purpose).',
  });
  if (!wrong.ok) return fail(io, 'the workflow request', wrong.view);
  say(`   On the card press "Edit and approve…", change the schedule to "0 3 * * *", and submit.`);
  const edited = await decided(wrong.view.id);
  say(`   → ${edited.status}${edited.edited ? `; edited by ${edited.edited.by}: ${changes(edited.edited.changes)}` : ' (not edited)'}\n`);

  // 2. Rollback.
  if (edited.status === 'committed') {
    say('2. Rollback — the workflow was created, and its tool contract names how to undo it.');
    say(`   In the card's thread press "Roll back"; the rollback is filed on your behalf and needs another approver (switch to Sam to approve it).\n`);
  } else {
    say('2. Rollback — skipped: the workflow was not created.\n');
  }

  // 3. Standing grants.
  say('3. Standing grants — the agent runs a workflow.');
  const first = await postAction(agent, { ...base, action_class: 'external_automation.workflow.run', params: { workflow: `tour-sync-${run}`, run_id: 'run-1', target_count: 2 }, idempotency_key: `tour-${run}-run-1`, justification: 'First run.' });
  if (!first.ok) return fail(io, 'the first run', first.view);
  say(`   On its card press "Approve this and similar…" and choose a duration and a count.`);
  const firstDone = await decided(first.view.id);
  say(`   → ${firstDone.status}`);
  for (const n of [2, 3]) {
    const next = await postAction(agent, { ...base, action_class: 'external_automation.workflow.run', params: { workflow: `tour-sync-${run}`, run_id: `run-${n}`, target_count: 3 }, idempotency_key: `tour-${run}-run-${n}`, justification: `Run ${n}.` });
    say(`   run ${n}: ${next.view.grant_id ? `approved at once by standing grant ${next.view.grant_id} (no card; the first card counts it)` : `${next.view.status} (no grant applied)`}`);
  }
  say('');

  // 4. A budget overrun that asks.
  say('4. A budget that asks — the sandbox allows an agent 3 reads a day; this is its 4th and 5th.');
  let over: ActionAnswer | null = null;
  for (let n = 1; n <= 5; n++) {
    const read = await postAction(agent, { ...base, action_class: 'external_automation.read.jobs', params: { project: 'data-platform', page: n }, idempotency_key: `tour-${run}-read-${n}`, justification: `Read page ${n}.` });
    if (read.view.status === 'pending_approval') {
      over = read.view;
      break;
    }
  }
  if (!over) return fail(io, 'the reads over budget', { detail: 'no read was held for approval' });
  say(`   → held for approval: ${String(over.budget_overrun?.[0]?.detail ?? '')}`);
  say(`   On its card press Approve to admit this one read (the budget stays as it is), or Deny.`);
  const overDone = await decided(over.id);
  say(`   → ${overDone.status}\n`);
  say(`Every step is in the evidence: /audit ${wrong.view.id} in the sandbox, or countersign audit show ${wrong.view.id}.`);
  return 0;
}

function changes(list: Array<Record<string, unknown>> | undefined): string {
  return (list ?? []).map((c) => `${String(c.path)} ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`).join('; ') || 'no field changed';
}

function fail(io: CliIo, what: string, view: ActionAnswer): number {
  io.stderr(`the tour stopped: ${what} was not accepted (${String(view.detail ?? view.title ?? view.status ?? 'unknown')})`);
  return 1;
}
