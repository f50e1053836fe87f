import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { budgetsSchema } from '../controls/budget-config';

const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,}$/, 'must be a Slack user id (U…/W…)');

export const approverGroupSchema = z.strictObject({
  channel: z.string().regex(/^[CGD][A-Z0-9]{2,}$/, 'must be a Slack channel id (C…)'),
  members: z.array(slackUserId).default([]),
  /** Slack user group (S…) whose current members may approve; read with usergroups.users.list. */
  usergroup: z.string().regex(/^S[A-Z0-9]{2,}$/).optional(),
});

export const executorSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  action_classes: z.array(z.string().min(1)).min(1),
  url: z.string().url(),
  secret: z.string().min(16, 'executor secrets must be at least 16 characters'),
  timeout_ms: z.number().int().positive().default(10_000),
  max_attempts: z.number().int().min(1).max(50).default(5),
  /** Release rate limit: at most `max` commits per `per_seconds`, across all workers. */
  rate_limit: z.strictObject({ max: z.number().int().positive(), per_seconds: z.number().int().positive() }).optional(),
  supports_dry_run: z.boolean().default(false),
  /**
   * The executor's prepare endpoint (docs/executors.md): asked, signed like a commit with `"mode": "prepare"`,
   * what the action would do before policy decides. Its facts decide, its preview is shown on the card, and the
   * hash of its plan is approved and compared again at release.
   */
  prepare_url: z.string().url().optional(),
  prepare_timeout_ms: z.number().int().positive().max(60_000).default(5_000),
  /** JSON Schema per action-class pattern for the params; unknown fields are violations. */
  contracts: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
});

export const fileConfigSchema = z.strictObject({
  approver_groups: z.record(z.string(), approverGroupSchema).default({}),
  executors: z.array(executorSchema).default([]),
  /** Slack users allowed to run /countersign admin commands (kill switch). */
  admins: approverGroupSchema.partial({ channel: true }).optional(),
  /** Reservation budgets per task or per agent per day (src/controls/budgets.ts, docs/agent-controls.md). */
  budgets: budgetsSchema,
  /** Slack users allowed to use /audit. */
  auditors: approverGroupSchema.partial({ channel: true }).optional(),
  /** Tasks the server opens for agents (POST /v1/tasks): the unit per-task budgets count against. */
  tasks: z
    .strictObject({
      max_open_per_agent: z.number().int().positive().default(20),
      max_per_day_per_agent: z.number().int().positive().default(500),
      ttl_seconds: z.number().int().positive().max(30 * 86_400).default(86_400),
    })
    .default({ max_open_per_agent: 20, max_per_day_per_agent: 500, ttl_seconds: 86_400 }),
  /** Extra parameter-key fragments to redact in the audit log and on cards (docs/audit.md). */
  redaction: z.strictObject({ extra_keys: z.array(z.string().min(1)).default([]) }).optional(),
}).superRefine((config, ctx) => {
  config.budgets.forEach((b, i) => {
    if (b.via && !config.approver_groups[b.via]) {
      ctx.addIssue({ code: 'custom', path: ['budgets', i, 'via'], message: `approver group "${b.via}" is not configured in approver_groups` });
    }
  });
});

export type FileConfig = z.infer<typeof fileConfigSchema>;
export type ExecutorConfig = z.infer<typeof executorSchema>;
export type ApproverGroup = z.infer<typeof approverGroupSchema>;

/** Expands ${NAME} references against the environment so secrets stay out of the file. */
function expandEnv(text: string, env: Record<string, string | undefined>, missing: string[]): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_, name: string) => {
    const value = env[name];
    if (value === undefined) {
      missing.push(name);
      return '';
    }
    return value;
  });
}

export class ConfigError extends Error {}

export function parseFileConfig(text: string, env: Record<string, string | undefined> = process.env, source = 'config'): FileConfig {
  const missing: string[] = [];
  const expanded = expandEnv(text, env, missing);
  if (missing.length) {
    throw new ConfigError(`${source}: environment variables referenced but not set: ${[...new Set(missing)].join(', ')}`);
  }
  const raw = parse(expanded, { maxAliasCount: 0 }) ?? {};
  const parsed = fileConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `${source}: invalid configuration:\n${parsed.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}`,
    );
  }
  return parsed.data;
}

export function loadFileConfig(path: string, env: Record<string, string | undefined> = process.env): FileConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`${path}: cannot read configuration file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return parseFileConfig(text, env, path);
}
