import { z } from 'zod';

/** Request and response bodies of /v1/admin (validated by the routes, documented by src/controls/operations.ts). */
export const createAgentBody = z.strictObject({
  name: z.string().min(1).max(63),
  /** A label, or a Slack user (U…) or user group (<!subteam^S…>) who can then never approve this agent's actions. */
  owner: z.string().max(200).default(''),
  /** Labels policies can read as agent.tags. */
  tags: z.array(z.string().regex(/^[a-z0-9][a-z0-9_.:-]{0,62}$/, 'tags are lowercase letters, digits, _ . : and -')).max(32).default([]),
  scopes: z.array(z.string()).min(1),
  rate_limit_per_minute: z.number().int().positive().nullable().optional(),
});
export const updateAgentBody = z
  .strictObject({
    owner: z.string().max(200).optional(),
    tags: z.array(z.string().regex(/^[a-z0-9][a-z0-9_.:-]{0,62}$/, 'tags are lowercase letters, digits, _ . : and -')).max(32).optional(),
    scopes: z.array(z.string()).min(1).optional(),
    rate_limit_per_minute: z.number().int().positive().nullable().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'change at least one of owner, tags, scopes, rate_limit_per_minute');
export const rotateBody = z.strictObject({ grace: z.string().default('15m').describe('0, or a duration like 15m, 1h, 2d (at most 30 days)') });
export const revokeBody = z.strictObject({ token_id: z.string().optional(), reason: z.string().max(2000).optional() });
export const killBody = z.strictObject({ reason: z.string().max(2000).optional() });

/** A standing grant as the admin API shows it (src/grants/store.ts#grantView). */
export const grantViewSchema = z.object({
  id: z.string(),
  origin_action_id: z.string(),
  agent_id: z.string(),
  action_class: z.string(),
  rule_id: z.string(),
  policy_version: z.string(),
  approver_group: z.string(),
  approvers: z.array(z.string()),
  variable: z.record(z.string(), z.unknown()),
  max_count: z.number().int(),
  used_count: z.number().int(),
  expires_at: z.string(),
  status: z.enum(['active', 'ended']),
  ended_reason: z.string().nullable(),
  ended_by: z.string().nullable(),
  ended_at: z.string().nullable(),
  created_at: z.string(),
});

/** GET /v1/admin/grants: one agent's (by name) and/or only active ones. */
export const grantsQuery = z.strictObject({ agent: z.string().min(1).max(100).optional(), active: z.enum(['true', 'false']).optional() });

export const agentView = z.object({
  id: z.string(),
  name: z.string(),
  owner: z.string(),
  tags: z.array(z.string()).optional(),
  scopes: z.array(z.string()),
  status: z.enum(['active', 'suspended']).or(z.string()),
  rate_limit_per_minute: z.number().nullable(),
  suspended_at: z.string().nullable().optional(),
  suspended_by: z.string().nullable().optional(),
});
export const tokenView = z.object({
  id: z.string(),
  display_prefix: z.string(),
  created_at: z.string(),
  created_by: z.string(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
  revoked_by: z.string().nullable(),
  live: z.boolean(),
});
export const agentDetail = agentView.extend({
  tokens: z.array(tokenView),
  budgets: z.array(z.object({ budget: z.string(), scope: z.string(), window: z.string(), reserved: z.number(), spent: z.number() })),
});
export const createdAgent = z.object({ agent: agentView, token: z.string().describe('shown once; only its SHA-256 is stored') });
export const issuedToken = z.object({
  agent: z.object({ id: z.string(), name: z.string(), status: z.string() }),
  token: z.string().describe('shown once; only its SHA-256 is stored'),
  token_id: z.string().optional(),
  previous: z.array(z.object({ id: z.string(), display_prefix: z.string(), expires_at: z.string() })).optional(),
});
export const revokedTokens = z.object({ agent: z.object({ id: z.string(), name: z.string() }), revoked: z.array(z.string()) });
export const killResult = z.object({
  agent: z.object({ id: z.string(), name: z.string() }),
  already_suspended: z.boolean(),
  tokens_revoked: z.array(z.string()),
  cancelled: z.array(z.string()),
  cards: z.array(z.string()),
  executing: z.array(z.string()),
  at: z.string(),
  by: z.string(),
});
export const resumeResult = z.object({ agent: z.object({ id: z.string(), name: z.string(), status: z.string() }), was_suspended: z.boolean() });
