import { z } from 'zod';
import type { ApiOperation } from '../openapi/operation';
import { auditPageSchema, auditQuery } from './schemas';

const publicJwk = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  x: z.string(),
  kid: z.string(),
  alg: z.literal('EdDSA'),
  use: z.literal('sig'),
  created_at: z.string(),
  retired_at: z.string().nullable(),
  expires_at: z.string().nullable(),
});

/** The audit and receipt-key routes, spread into src/openapi/operations.ts. */
export const AUDIT_OPERATIONS: ApiOperation[] = [
  {
    method: 'get',
    path: '/v1/audit',
    operationId: 'listAuditEvents',
    summary: 'The evidence stream, filtered (action, correlation id, agent, actor, type, time range), keyset-paginated on seq',
    tags: ['audit'],
    auth: 'admin',
    request: { query: auditQuery },
    responses: { 200: { description: 'One page of events in chain order (or newest first)', schema: auditPageSchema } },
    problems: ['invalid-request', 'unauthenticated', 'forbidden'],
  },
  {
    method: 'get',
    path: '/.well-known/countersign-keys',
    operationId: 'receiptKeys',
    summary: 'Public Ed25519 keys that verify receipts (JWKS-shaped), retired ones included until they expire',
    tags: ['audit'],
    auth: 'none',
    responses: { 200: { description: 'The published keys', schema: z.object({ keys: z.array(publicJwk) }) } },
  },
];
