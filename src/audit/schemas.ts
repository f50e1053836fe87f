import { z } from 'zod';
import { MAX_PAGE, auditFilter } from './query';

/** GET /v1/audit query string. */
export const auditQuery = auditFilter.extend({
  since: z.coerce.date().optional().describe('ISO 8601 time; events at or after it'),
  until: z.coerce.date().optional().describe('ISO 8601 time; events before it'),
  /** An agent's name, as an alternative to agent_id. */
  agent: z.string().min(1).max(200).optional().describe("an agent's name (alternative to agent_id)"),
  cursor: z.string().max(200).optional().describe('next_cursor from the previous page'),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(100),
  order: z.enum(['asc', 'desc']).default('asc').describe('asc: chain order; desc: newest first'),
});

export const auditEventSchema = z.object({
  seq: z.number().int(),
  id: z.string(),
  schema_version: z.string(),
  type: z.string(),
  action_id: z.string().nullable(),
  correlation_id: z.string().nullable(),
  agent_id: z.string().nullable(),
  actor: z.string(),
  policy_version: z.string().nullable(),
  data: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  prev_hash: z.string().nullable(),
  hash: z.string().nullable(),
  chain_lane: z.number().int().describe('the hash chain (lane) the event is linked into'),
});

export const auditPageSchema = z.object({
  events: z.array(auditEventSchema),
  next_cursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last page'),
});
