import type { z } from 'zod';
import type { ProblemCode } from '../lib/errors';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call an operation; maps to an OpenAPI security requirement. */
export type OperationAuth = 'agent' | 'admin' | 'slack-signature' | 'none';

export type OperationResponse = {
  description: string;
  /** Omitted for bodies that are not JSON (e.g. /metrics text). */
  schema?: z.ZodType;
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
  request?: { body?: z.ZodType; query?: z.ZodObject; contentType?: string };
  responses: Record<number, OperationResponse>;
  /** Problem codes this operation may answer with (the generic 500/503 ones are added for every operation). */
  problems?: ProblemCode[];
  /** Served only in this mode (sandbox: no Slack credentials, the built-in emulator stands in). */
  mode?: 'sandbox';
};
