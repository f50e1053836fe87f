import type { z } from 'zod';
import type { ProblemCode } from '../lib/errors';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call an operation; maps to an OpenAPI security requirement. */
export type OperationAuth = 'agent' | 'admin' | 'slack-signature' | 'none';

/** Response headers the server sends, declared once in `components.headers` (src/openapi/headers.ts). */
export type ResponseHeader = 'Location' | 'Idempotent-Replayed' | 'RateLimit' | 'RateLimit-Policy' | 'Retry-After';

export type OperationResponse = {
  description: string;
  /** Headers this response may carry. */
  headers?: ResponseHeader[];
  /** Omitted for bodies that are not JSON (e.g. /metrics text). */
  schema?: z.ZodType;
  /** Without a schema: one media type, or several separated by `, ` (a static asset's). */
  contentType?: string;
};

/**
 * One documented HTTP operation. Schemas are the zod schemas the handler validates with, so the
 * document cannot drift from what the server accepts. `path` uses OpenAPI templates (`/v1/actions/{id}`).
 */
export type ApiOperation = {
  method: HttpMethod;
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: OperationAuth;
  request?: {
    body?: z.ZodType;
    query?: z.ZodObject;
    contentType?: string;
    /** Request headers the operation reads (JSON Schema of the value). */
    headers?: Array<{ name: string; description: string; schema: Record<string, unknown> }>;
  };
  responses: Record<number, OperationResponse>;
  /** Problem codes this operation may answer with (the generic 500/503 ones are added for every operation). */
  problems?: ProblemCode[];
  /**
   * Headers its problem responses may carry, by HTTP status (`Retry-After` needs no entry: it is declared on
   * every status that has a retryable code).
   */
  problemHeaders?: Partial<Record<number, ResponseHeader[]>>;
  /** Served only in this mode (sandbox: no Slack credentials, the built-in emulator stands in). */
  mode?: 'sandbox';
};
