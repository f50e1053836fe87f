// Escalation → approval card posted, and approval click → executor call: p50/p99 through the real Bolt
// handlers, BullMQ queues and the Slack emulator (HTTP mode). `node bin/run-ts.js bench/approval-latency.ts`.
import { fileURLToPath } from 'node:url';
import { startSlackEmulator } from '../src/slack-emulator';
import { APPROVE_ACTION_ID } from '../src/slack/blocks/approval-card';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, BOT_TOKEN, SIGNING_SECRET } from '../test/support/harness';
import { benchServices } from './lib/services';
import { summarize, type Figures } from './lib/stats';

type Latency = Omit<Figures, 'throughput_per_s' | 'seconds'> & { target_p50_ms: number };
export type ApprovalLatencyResult = { name: 'approval_latency'; escalation_to_card: Latency; click_to_executor: Latency; notes: string[] };

export async function runApprovalLatencyBench(opts: { iterations?: number; warmup?: number } = {}): Promise<ApprovalLatencyResult> {
  const iterations = opts.iterations ?? 40;
  const warmup = opts.warmup ?? 3;
  const slack = await startSlackEmulator({
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    channels: [{ id: AUTOMATION_OPS_CHANNEL, name: 'automation-ops' }],
    users: [
      { id: ALICE, name: 'alice' },
      { id: BOB, name: 'bob' },
    ],
  });
  const svc = await benchServices('approval');
  try {
    // One Countersign process (API and workers) at its default log level, wired to the emulator in HTTP mode.
    const app = await svc.spawn('countersign', 'app', {}, { SLACK_BOT_TOKEN: BOT_TOKEN, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: slack.apiUrl });
    slack.setEventsUrl(`${app.url}/slack/events`);
    const { token } = await svc.agent('bench-approval');
    const toCard: number[] = [];
    const toExecutor: number[] = [];
    for (let i = 0; i < warmup + iterations; i++) {
      const sent = Date.now();
      const res = await fetch(`${app.url}/v1/actions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({
          action_class: 'external_automation.workflow.create',
          params: { name: `bench-${i}`, target_count: 2 },
          idempotency_key: `bench-approval-${i}-${sent}`,
          justification: 'benchmark',
        }),
      });
      const action = (await res.json()) as { id: string; status: string };
      if (action.status !== 'pending_approval') throw new Error(`expected an escalation, got ${res.status} ${JSON.stringify(action)}`);
      const card = await slack.waitForMessage(AUTOMATION_OPS_CHANNEL, (m) => JSON.stringify(m.blocks ?? []).includes(action.id), { timeoutMs: 10_000 });
      // The emulator stamps each Web API call on arrival: that is when the card was posted.
      const post = slack.callsTo('chat.postMessage').find((c) => JSON.stringify(c.args).includes(action.id));
      const calls = svc.executor.calls.length;
      const clicked = Date.now();
      await slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: ALICE });
      const call = await waitUntil(() => svc.executor.calls.slice(calls).find((c) => c.body.action_id === action.id), 10_000);
      if (i >= warmup) {
        toCard.push((post?.at ?? Date.now()) - sent);
        toExecutor.push(call.at - clicked);
      }
    }
    const figures = (xs: number[], target: number): Latency => {
      const { requests, errors, p50_ms, p99_ms } = summarize(xs, 1);
      return { requests, errors, p50_ms, p99_ms, target_p50_ms: target };
    };
    return {
      name: 'approval_latency',
      escalation_to_card: figures(toCard, 50),
      click_to_executor: figures(toExecutor, 100),
      notes: [
        `${iterations} sequential escalations after ${warmup} warm-up ones; millisecond timestamps; Countersign in its own process at the default log level`,
        'escalation → card: from sending POST /v1/actions to the emulator receiving chat.postMessage (intake, card queue in BullMQ, card worker, Slack Web API client)',
        'click → executor: from the emulator sending the signed block_actions payload to the executor receiving the signed commit (Bolt handler, approval transaction, outbox relay, BullMQ, release re-check)',
      ],
    };
  } finally {
    await svc.close();
    await slack.close();
  }
}

async function waitUntil<T>(check: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('timed out waiting for the executor call');
    await new Promise((r) => setTimeout(r, 1));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await runApprovalLatencyBench(), null, 2));
  process.exit(0);
}
