import { z } from 'zod';
import { actionView, createActionRequest, getActionQuery } from '../intake/schemas';
import type { ApiOperation } from './operation';
import { AUDIT_OPERATIONS } from '../audit/operations';
import { SANDBOX_OPERATIONS } from './sandbox-operations';
import { ADMIN_OPERATIONS } from '../controls/operations';
import { TASK_OPERATIONS } from '../tasks/operations';

const ok = z.object({ ok: z.boolean() });
const jsonRpc = z.object({ jsonrpc: z.literal('2.0') }).catchall(z.unknown()).describe('a JSON-RPC 2.0 message (or batch member)');
const jsonRpcError = z
  .object({ jsonrpc: z.literal('2.0'), error: z.object({ code: z.number().int(), message: z.string() }).catchall(z.unknown()), id: z.union([z.string(), z.number(), z.null()]) })
  .describe('a JSON-RPC 2.0 error response');
const readiness = z.object({ ok: z.boolean() }).catchall(z.boolean()).describe('ok, then one boolean per dependency (database, redis)');

/**
 * Every HTTP operation Countersign serves. A new route is documented by adding it here (or by exporting a list
 * from its feature and spreading it in); `test/openapi` fails for any mounted route that is missing.
 */
export const API_OPERATIONS: ApiOperation[] = [
  {
    method: 'post',
    path: '/v1/actions',
    operationId: 'requestAction',
    summary: 'Propose an action: policy allows, denies or escalates it to human approval',
    description:
      'Idempotent per agent and idempotency key (the body’s `idempotency_key` or the `Idempotency-Key` header; both given and different is a 422): a retry with the same body returns the first answer with `Idempotent-Replayed: true`; the same key with a different body is a 409.',
    tags: ['actions'],
    auth: 'agent',
    request: {
      body: createActionRequest.extend({
        idempotency_key: createActionRequest.shape.idempotency_key.optional().describe('required here or in the `Idempotency-Key` header (the same value if both)'),
      }),
      headers: [{ name: 'Idempotency-Key', description: 'the idempotency key as a request header (a structured-field string `"…"` or a bare token); works as the body’s `idempotency_key`', schema: { type: 'string', maxLength: 257 } }],
    },
    responses: {
      201: {
        description: 'Recorded: approved (queued for release), pending approval, or previewed (dry run)',
        schema: actionView,
        headers: ['Location', 'Idempotent-Replayed', 'RateLimit', 'RateLimit-Policy'],
      },
    },
    // Every answer to an authenticated agent carries its rate-limit state; a replayed denial says it is one.
    problemHeaders: {
      403: ['RateLimit', 'RateLimit-Policy', 'Idempotent-Replayed'],
      409: ['RateLimit', 'RateLimit-Policy'],
      422: ['RateLimit', 'RateLimit-Policy'],
      429: ['RateLimit', 'RateLimit-Policy'],
      502: ['RateLimit', 'RateLimit-Policy'],
    },
    problems: [
      'invalid-request',
      'validation-failed',
      'invalid-action-class',
      'contract-violation',
      'payload-too-large',
      'unsupported-media-type',
      'unauthenticated',
      'agent-suspended',
      'out-of-scope',
      'policy-denied',
      'idempotency-conflict',
      'idempotency-in-progress',
      'rate-limited',
      'budget-exhausted',
      'no-executor',
      'dry-run-unsupported',
      'dry-run-rejected',
      'executor-unavailable',
      'prepare-unavailable',
      'prepare-refused',
      'prepare-malformed',
      'unknown-requester',
      'directory-unavailable',
      'task-not-open',
    ],
  },
  {
    method: 'get',
    path: '/v1/actions/{id}',
    operationId: 'getAction',
    summary: 'Read an action of this agent; with `wait`, a long poll until its status changes',
    tags: ['actions'],
    auth: 'agent',
    request: { query: getActionQuery },
    responses: { 200: { description: 'The action as it is now (or when the wait ended)', schema: actionView } },
    problems: ['invalid-request', 'unauthenticated', 'not-found'],
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    summary: 'Liveness: the process serves HTTP',
    tags: ['operations'],
    auth: 'none',
    responses: { 200: { description: 'Alive', schema: ok } },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'ready',
    summary: 'Readiness: PostgreSQL and Redis answer within 2 s',
    tags: ['operations'],
    auth: 'none',
    responses: {
      200: { description: 'Ready', schema: readiness },
      503: { description: 'A dependency is unreachable', schema: readiness },
    },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics of this instance',
    tags: ['operations'],
    auth: 'none',
    responses: { 200: { description: 'Prometheus text exposition format', contentType: 'text/plain; version=0.0.4' } },
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    summary: 'This document',
    tags: ['operations'],
    auth: 'none',
    responses: { 200: { description: 'OpenAPI 3.1 document', contentType: 'application/json' } },
  },
  {
    method: 'post',
    path: '/mcp',
    operationId: 'mcp',
    summary: 'Model Context Protocol (Streamable HTTP, stateless): tools request_action, get_action_status, list_pending_approvals',
    description:
      'JSON-RPC 2.0 messages per the MCP specification; the agent token authenticates every call. Answers are JSON (no SSE stream). GET and DELETE answer 405 with `Allow: POST` (no sessions, no server stream).',
    tags: ['mcp'],
    auth: 'agent',
    request: { body: jsonRpc },
    responses: {
      200: { description: 'JSON-RPC response', schema: jsonRpc },
      202: { description: 'Notification accepted' },
      400: { description: 'JSON-RPC error: the body is not JSON (`-32700`) or not a JSON-RPC message (`-32700`/`-32600`)', schema: jsonRpcError },
      406: { description: 'JSON-RPC error: `Accept` must list both application/json and text/event-stream', schema: jsonRpcError },
      415: { description: 'JSON-RPC error: `Content-Type` must be application/json', schema: jsonRpcError },
    },
    problems: ['unauthenticated', 'payload-too-large'],
  },
  {
    method: 'post',
    path: '/slack/events',
    operationId: 'slackEvents',
    summary: 'Slack interactivity and events (Bolt); only with Slack configured',
    description: 'Requests must carry a valid `X-Slack-Signature` made with the signing secret and a timestamp within 5 minutes.',
    tags: ['slack'],
    auth: 'slack-signature',
    request: { contentType: 'application/x-www-form-urlencoded' },
    responses: { 200: { description: 'Acknowledged' }, 401: { description: 'Bad signature, or a timestamp more than 300 s from now either way (a plain-text reason)', contentType: 'text/plain' } },
  },
  ...AUDIT_OPERATIONS,
  ...ADMIN_OPERATIONS,
  ...TASK_OPERATIONS,
  ...SANDBOX_OPERATIONS,
];
