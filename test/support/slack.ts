import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSlackEmulator, type SlackEmulator, type SlackEmulatorOptions, type StoredMessage } from '../../src/slack-emulator';
import { parseFileConfig, type FileConfig } from '../../src/config/file-config';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, BOT_TOKEN, EXECUTOR_SECRET, MALLORY, SIGNING_SECRET, startHarness, type Harness } from './harness';

export const APP_TOKEN = 'xapp-1-test-app-token';
export const ON_CALL_CHANNEL = 'C0ONCALL';
export const ON_CALL_USERGROUP = 'S0ONCALL';
/** In the on-call Slack user group only (not an explicit member anywhere). */
export const CAROL = 'U0CAROL';
export const DAVE = 'U0DAVE';
/** A bot user someone listed as an approver by mistake: it must still never approve. */
export const ROBOT = 'U0ROBOT';

export type Transport = 'http' | 'socket';
export const TRANSPORTS: Transport[] = ['http', 'socket'];

export type SlackHarness = Harness & { slack: SlackEmulator; transport: Transport };

/**
 * A policy bundle for the Slack tests, one rule per action class so each test picks its behaviour:
 * quorum, high risk, a user-group approver, escalation with short timeouts, a plain short timeout.
 */
export const SLACK_TEST_POLICY = `
name: slack-tests
version: "1"
rules:
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
  - id: escalate-high-risk
    applies_to: { action_class: [external_automation.webhook.update] }
    decision: escalate
    escalation: { via: automation-ops, high_risk: true }
    reasoning: Webhook changes are high risk.
  - id: escalate-on-call
    applies_to: { action_class: [external_automation.job.update] }
    decision: escalate
    escalation: { via: on-call }
    reasoning: On-call decides job updates.
  - id: escalate-then-on-call
    applies_to: { action_class: [external_automation.integration.sync] }
    decision: escalate
    escalation: { via: automation-ops, timeout: 8s, escalate_to: { via: on-call, after: 1s } }
    reasoning: Integration syncs go to on-call when automation-ops does not answer.
  - id: escalate-then-expire
    applies_to: { action_class: [external_automation.workflow.run] }
    decision: escalate
    escalation: { via: automation-ops, timeout: 3s, escalate_to: { via: on-call, after: 1s } }
    reasoning: Workflow runs escalate to on-call, then time out.
  - id: escalate-short-timeout
    applies_to: { action_class: [external_automation.api.write] }
    decision: escalate
    escalation: { via: automation-ops, timeout: 2s }
    reasoning: API writes must be answered within seconds.
`;

/**
 * countersign.yaml for the Slack tests: automation-ops by explicit members, on-call by a Slack user group.
 * `extra` is appended after the executor: indented 4 spaces it belongs to the executor (e.g. `contracts:`),
 * unindented it is a top-level section (e.g. `budgets:`).
 */
export function slackTestConfig(executorUrl: string, extra = ''): FileConfig {
  return parseFileConfig(
    `
approver_groups:
  automation-ops: { channel: ${AUTOMATION_OPS_CHANNEL}, members: [${ALICE}, ${BOB}, ${ROBOT}] }
  on-call: { channel: ${ON_CALL_CHANNEL}, usergroup: ${ON_CALL_USERGROUP} }
executors:
  - name: automation
    action_classes: ["external_automation.*"]
    url: ${executorUrl}
    secret: \${EXECUTOR_SECRET}
    max_attempts: 3
    timeout_ms: 2000
${extra}
`,
    { EXECUTOR_SECRET },
  );
}

export type SlackHarnessOptions = Parameters<typeof startHarness>[0] & {
  transport?: Transport;
  /** A policy bundle (YAML) written to a temp dir and used instead of the repo's policies/. */
  policy?: string;
  emulator?: Partial<SlackEmulatorOptions>;
  /** Runs after the emulator starts and before Countersign does (e.g. to make Slack fail at boot). */
  beforeStart?: (slack: SlackEmulator) => void;
};

/** A whole Countersign wired to the repo's Slack emulator, over HTTP (signed requests) or Socket Mode. */
export async function startSlackHarness(opts: SlackHarnessOptions = {}): Promise<SlackHarness> {
  const transport = opts.transport ?? 'http';
  const slack = await startSlackEmulator({
    botToken: BOT_TOKEN,
    signingSecret: SIGNING_SECRET,
    appToken: APP_TOKEN,
    channels: [
      { id: AUTOMATION_OPS_CHANNEL, name: 'automation-ops' },
      { id: ON_CALL_CHANNEL, name: 'on-call' },
    ],
    users: [
      { id: ALICE, name: 'alice' },
      { id: BOB, name: 'bob' },
      { id: MALLORY, name: 'mallory' },
      { id: CAROL, name: 'carol' },
      { id: DAVE, name: 'dave' },
      { id: ROBOT, name: 'robot', is_bot: true },
    ],
    usergroups: [{ id: ON_CALL_USERGROUP, handle: 'on-call', users: [CAROL, DAVE] }],
    ...opts.emulator,
  });
  opts.beforeStart?.(slack);
  const policyDir = opts.policy ? mkdtempSync(join(tmpdir(), 'countersign-policy-')) : null;
  if (policyDir) writeFileSync(join(policyDir, 'slack-tests.yaml'), opts.policy!);
  const h = await startHarness({
    configFor: slackTestConfig,
    ...opts,
    slackApiUrl: slack.apiUrl,
    env: { ...(transport === 'socket' ? { SLACK_APP_TOKEN: APP_TOKEN } : {}), ...(policyDir ? { COUNTERSIGN_POLICIES: policyDir } : {}), ...opts.env },
    start: { expiryEveryMs: 200, ...opts.start },
  });
  if (transport === 'http') slack.setEventsUrl(`${h.app.url}/slack/events`);
  else await slack.waitForSocket({ timeoutMs: 10_000 });
  return {
    ...h,
    slack,
    transport,
    async close() {
      await h.close();
      await slack.close();
      if (policyDir) rmSync(policyDir, { recursive: true, force: true });
    },
  };
}

export function blockText(blocks: unknown[] | undefined): string {
  return JSON.stringify(blocks ?? []);
}

/** The card for an action in a channel, once posted. */
export function waitForCard(h: SlackHarness, actionId: string, channel = AUTOMATION_OPS_CHANNEL): Promise<StoredMessage> {
  // A card with replies carries its own ts as thread_ts (Slack's thread parent); a reply has another.
  return h.slack.waitForMessage(channel, (m) => (!m.thread_ts || m.thread_ts === m.ts) && blockText(m.blocks).includes(actionId), { timeoutMs: 10_000, description: `the card for ${actionId} in ${channel}` });
}

/** Waits until the card's current blocks satisfy `predicate`. */
export function waitForCardState(h: SlackHarness, channel: string, ts: string, predicate: (text: string, m: StoredMessage) => boolean, description = 'card state'): Promise<StoredMessage> {
  return h.slack.waitFor(
    () => {
      const m = h.slack.message(channel, ts);
      return m && predicate(blockText(m.blocks), m) ? m : undefined;
    },
    { timeoutMs: 10_000, description },
  );
}

export function hasButtons(m: StoredMessage): boolean {
  return (m.blocks ?? []).some((b) => b.type === 'actions');
}
