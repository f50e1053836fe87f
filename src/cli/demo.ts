import { randomBytes } from 'node:crypto';
import { parseEnv, type Env } from '../config/env';
import { resolve } from 'node:path';
import { dataDirHolder } from '../embedded/data-dir';
import { startLocal, StartAborted } from '../embedded/start';
import { readChannel } from './admin-channel';
import { parseFlags, processIo, type CliIo } from './io';
import { TERMINAL, until } from './demo-client';

type Step = { label: string; body: Record<string, unknown> };


/** The agent's script: one allowed, one denied, one escalated action. */
function steps(run: string): Step[] {
  const base = { correlation_id: `demo-${run}` };
  return [
    {
      label: 'allowed (read-only)',
      body: { ...base, action_class: 'external_automation.read.jobs', params: { project: 'data-platform' }, idempotency_key: `demo-${run}-read`, justification: 'List the jobs before changing anything.' },
    },
    {
      label: 'denied (credential access)',
      body: { ...base, action_class: 'external_automation.credentials.read', params: { credential: 'warehouse-admin' }, idempotency_key: `demo-${run}-creds`, justification: 'I would like the warehouse admin password.' },
    },
    {
      label: 'escalated (creates a workflow)',
      body: {
        ...base,
        action_class: 'external_automation.workflow.create',
        // The count policy reads: the executor's prepare step counts `targets` (plan.target_count) where it
        // prepares; params.target_count stands in where it does not. `context` is only what the agent says.
        params: { name: `nightly-sync-${run}`, schedule: '0 3 * * *', targets: ['orders', 'customers', 'invoices'], target_count: 3 },
        context: { ticket: 'DATA-1234' },
        idempotency_key: `demo-${run}-workflow`,
        justification: 'Create the *nightly sync* workflow the data team asked for.',
      },
    },
  ];
}

async function reachable(url: string): Promise<number | null> {
  try {
    const res = await fetch(`${url}/sandbox/state`, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.status;
  } catch {
    return null;
  }
}

function describe(view: Record<string, any>): string {
  const decision = view.decision ?? {};
  if (view.status === 'committed') return `committed — the executor answered: ${JSON.stringify(view.result?.did ?? view.result)}`;
  if (view.status === 'denied' || view.code === 'policy-denied') {
    return `denied by ${decision.rule_id ?? view.rule_id ?? 'policy'}: ${decision.reasoning ?? view.detail ?? ''}`.trim();
  }
  if (view.status === 'pending_approval') return `needs approval by ${decision.escalation?.via ?? 'a human'} (rule ${decision.rule_id})`;
  return String(view.status ?? view.title ?? 'unknown');
}

/**
 * `npm run demo`: plays an agent against a sandbox — at --url, else the one running on COUNTERSIGN_DATA_DIR, else at
 * HOST:PORT, else one it starts —
 * sending an action that is allowed, one that is denied and one that needs a human, and printing each outcome.
 */
export async function runDemo(argv: string[], io: CliIo = processIo, env: Env = parseEnv()): Promise<number> {
  const { flags } = parseFlags(argv);
  const waitMs = Number(flags.wait ?? 600) * 1000;
  let url = typeof flags.url === 'string' ? flags.url.replace(/\/$/, '') : `http://${env.HOST}:${env.PORT}`;
  let started: Awaited<ReturnType<typeof startLocal>> | null = null;
  // Only once it starts a server of its own does the demo hold anything a signal must not abandon (a private
  // Redis, the data directory's lock): from then on Ctrl-C (which npm sends twice) stops it through its close.
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort();
  const stopped = new Promise<null>((resolve) => interrupted.signal.addEventListener('abort', () => resolve(null)));
  // A Countersign already running on this data directory (npm start, whatever its PORT) is the one to use.
  const dataDir = resolve(env.COUNTERSIGN_DATA_DIR);
  const holder = typeof flags.url === 'string' ? null : dataDirHolder(dataDir);
  if (holder !== null) {
    const running = readChannel(dataDir, holder)?.app_url;
    if (!running) {
      io.stderr(`a Countersign (pid ${holder}) is running on ${dataDir} but is not ready yet (or keeps no API); try again in a moment, or pass --url`);
      return 1;
    }
    if (running !== url) io.stdout(`found the Countersign running on ${dataDir} at ${running}`);
    url = running;
  }
  const status = await reachable(url);
  if (status === 404) {
    io.stderr(`the Countersign at ${url} is not in sandbox mode (it has Slack credentials); run the demo against a sandbox`);
    return 1;
  }
  if (status === null) {
    if (typeof flags.url === 'string') {
      io.stderr(`nothing answers at ${url}; start one with npm start`);
      return 1;
    }
    io.stdout(`no sandbox at ${url}; starting one (Ctrl-C stops it)…`);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      started = await startLocal(env, { say: io.stdout, signal: interrupted.signal });
    } catch (e) {
      if (!(e instanceof StartAborted)) throw e;
      io.stdout('start-up interrupted; stopped what had started');
      e.settle();
      process.exit(130);
    }
    url = started.url;
    // `countersign audit …` in another terminal reaches the database this process now holds.
    const { startOperatorChannel } = await import('./serve');
    const channel = await startOperatorChannel(started);
    if (channel) {
      const close = started.close;
      started.close = async () => {
        await channel.close();
        await close();
      };
    }
  }
  try {
    const minted = await fetch(`${url}/sandbox/demo-agent`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    if (!minted.ok) {
      io.stderr(`could not create a demo agent (${minted.status})`);
      return 1;
    }
    const agent = (await minted.json()) as { name: string; token: string };
    const auth = { authorization: `Bearer ${agent.token}` };
    if (flags.tour) {
      const { runTour } = await import('./demo-tour');
      const code = await runTour({ url, auth }, io, { waitMs, signal: interrupted.signal });
      if (started && !interrupted.signal.aborted) {
        io.stdout(`\nthe sandbox keeps running at ${url}/sandbox/ until you press Ctrl-C.`);
        await stopped;
      }
      return code;
    }
    io.stdout(`agent ${agent.name} is asking Countersign for three actions:\n`);
    const run = randomBytes(3).toString('hex');
    const ids: Record<string, string> = {};
    for (const step of steps(run)) {
      const res = await fetch(`${url}/v1/actions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(step.body) });
      const view = (await res.json()) as Record<string, any>;
      let final = view;
      if (res.ok && view.status && !TERMINAL.has(view.status) && view.status !== 'pending_approval') {
        // A slow machine is not a failed demo: after a while it says where the action is and goes on.
        final = await until(url, auth, view.id, (v) => TERMINAL.has(v.status), 30_000).catch(() => ({ ...view, status: `${view.status} (still being released; GET /v1/actions/${view.id} shows when it commits)` }));
      }
      io.stdout(`  ${step.label.padEnd(32)} ${step.body.action_class}\n    → ${describe(final)}`);
      if (view.id) ids[step.label] = view.id;
    }
    const pendingId = Object.values(ids).at(-1);
    io.stdout(`\nopen ${url}/sandbox/ and press Approve (or Deny) on the card in #automation-ops.`);
    if (pendingId && waitMs > 0) {
      io.stdout(`waiting for a human to decide ${pendingId}…`);
      const final = await Promise.race([until(url, auth, pendingId, (v) => TERMINAL.has(v.status), waitMs, interrupted.signal).catch(() => null), stopped]);
      if (interrupted.signal.aborted) return 130;
      io.stdout(final ? `  escalated action → ${describe(final)}` : `  still waiting after ${waitMs / 1000} s; it stays pending until it expires`);
    }
    if (started && !interrupted.signal.aborted) {
      io.stdout(`\nthe sandbox keeps running at ${url}/sandbox/ until you press Ctrl-C.`);
      await stopped;
    }
    return 0;
  } finally {
    await started?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
