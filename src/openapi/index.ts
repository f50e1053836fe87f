import { readFileSync } from 'node:fs';
import { Router } from 'express';
import { buildOpenApiDocument } from './document';
import { API_OPERATIONS } from './operations';
import type { ApiOperation } from './operation';

export { API_OPERATIONS } from './operations';
export { buildOpenApiDocument } from './document';
export type { ApiOperation, HttpMethod, OperationAuth, OperationResponse } from './operation';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** The document for a set of operations (all of Countersign's by default), built once and cached. */
export function openApiDocument(operations: ApiOperation[] = API_OPERATIONS): Record<string, unknown> {
  return buildOpenApiDocument(operations, { version: VERSION });
}

/** `GET /openapi.json`. */
export function openApiRouter(operations: ApiOperation[] = API_OPERATIONS): Router {
  const router = Router();
  let cached: string | null = null;
  router.get('/openapi.json', (_req, res) => {
    cached ??= JSON.stringify(openApiDocument(operations));
    res.type('application/json').set('cache-control', 'public, max-age=300').send(cached);
  });
  return router;
}
