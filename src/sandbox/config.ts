import { randomBytes } from 'node:crypto';
import type { FileConfig } from '../config/file-config';
import { parseFileConfig } from '../config/file-config';
import type { EmulatorChannel, EmulatorUser, EmulatorUsergroup } from '../slack-emulator';

/** The people of the sandbox workspace. Alex and Sam approve for automation-ops; Riley may not approve. */
export const SANDBOX_USERS: EmulatorUser[] = [
  { id: 'U0ALEX', name: 'alex', real_name: 'Alex Approver' },
  { id: 'U0SAM', name: 'sam', real_name: 'Sam Second' },
  { id: 'U0RILEY', name: 'riley', real_name: 'Riley Onlooker' },
];
export const SANDBOX_APPROVER = 'U0ALEX';
export const SANDBOX_CHANNEL = { id: 'C0AUTOMATIONOPS', name: 'automation-ops' };
export const SANDBOX_EXECUTOR = 'sandbox';
export const SANDBOX_EXECUTOR_PATH = '/sandbox/executor';
/** Until the server listens and the real URL is known (see `pointSandboxExecutor`). */
const UNSET_EXECUTOR_URL = 'http://127.0.0.1:1/sandbox/executor';
const UNSET_PREPARE_URL = 'http://127.0.0.1:1/sandbox/executor/prepare';

/**
 * The configuration used in sandbox mode when there is no countersign.yaml: one approver group whose
 * channel lives in the built-in Slack emulator, and the demo executor the app itself serves.
 */
export function defaultSandboxConfig(executorSecret = randomBytes(24).toString('hex')): FileConfig {
  return parseFileConfig(
    `
approver_groups:
  automation-ops: { channel: ${SANDBOX_CHANNEL.id}, members: [U0ALEX, U0SAM] }
executors:
  - name: ${SANDBOX_EXECUTOR}
    action_classes: ["external_automation.*"]
    url: ${UNSET_EXECUTOR_URL}
    prepare_url: ${UNSET_PREPARE_URL}
    secret: ${executorSecret}
    timeout_ms: 5000
    max_attempts: 3
    # Rollback: a workflow the sandbox "created" can be rolled back from its card's thread (docs/sandbox.md).
    contracts:
      external_automation.workflow.create:
        type: object
        additionalProperties: true
        compensate:
          action_class: external_automation.workflow.disable
          params: { name: "{{params.name}}", targets: "{{params.targets}}", reason: "rollback of {{params.name}}" }
      "external_automation.*": { type: object, additionalProperties: true }
# Budget overruns that ask: an agent's fourth read of the day waits for automation-ops instead of failing.
budgets:
  - { name: demo-reads, per: agent_day, max: 3, action_classes: ["external_automation.read.*"], on_exceed: escalate, via: automation-ops }
admins: { members: [U0ALEX] }
auditors: { members: [U0ALEX, U0SAM] }
`,
    {},
    'built-in sandbox configuration',
  );
}

/** Points the built-in executor at this server once its URL is known. */
export function pointSandboxExecutor(config: FileConfig, baseUrl: string): void {
  for (const ex of config.executors) {
    if (ex.name === SANDBOX_EXECUTOR && ex.url === UNSET_EXECUTOR_URL) ex.url = `${baseUrl}${SANDBOX_EXECUTOR_PATH}`;
    if (ex.name === SANDBOX_EXECUTOR && ex.prepare_url === UNSET_PREPARE_URL) ex.prepare_url = `${baseUrl}${SANDBOX_EXECUTOR_PATH}/prepare`;
  }
}

export function sandboxExecutorSecret(config: FileConfig): string | null {
  return config.executors.find((e) => e.name === SANDBOX_EXECUTOR)?.secret ?? null;
}

/**
 * The emulator's workspace for a configuration: a channel per approver group, and a user for everyone the
 * configuration names (approvers, admins, auditors) besides the sandbox's own people.
 */
export function sandboxWorkspace(config: FileConfig): { channels: EmulatorChannel[]; users: EmulatorUser[]; usergroups: EmulatorUsergroup[] } {
  const channels = new Map<string, EmulatorChannel>();
  for (const [name, group] of Object.entries(config.approver_groups)) {
    if (!channels.has(group.channel)) channels.set(group.channel, { id: group.channel, name: group.channel === SANDBOX_CHANNEL.id ? SANDBOX_CHANNEL.name : name });
  }
  if (channels.size === 0) channels.set(SANDBOX_CHANNEL.id, { ...SANDBOX_CHANNEL });
  const users = new Map(SANDBOX_USERS.map((u) => [u.id, { ...u }]));
  const named = [
    ...Object.values(config.approver_groups).flatMap((g) => g.members),
    ...(config.admins?.members ?? []),
    ...(config.auditors?.members ?? []),
  ];
  for (const id of named) if (!users.has(id)) users.set(id, { id, name: id.toLowerCase() });
  // A Slack user group named by the configuration is played by the sandbox's approvers.
  const usergroups = [...new Set(Object.values(config.approver_groups).flatMap((g) => (g.usergroup ? [g.usergroup] : [])))].map((id) => ({
    id,
    handle: id.toLowerCase(),
    users: ['U0ALEX', 'U0SAM'],
  }));
  return { channels: [...channels.values()], users: [...users.values()], usergroups };
}
