import type { ResponseHeader } from './operation';

/** `components.headers`: every response header the document declares, described once. */
export const RESPONSE_HEADERS: Record<ResponseHeader, Record<string, unknown>> = {
  Location: { description: 'Where the created action is read (`/v1/actions/{id}`)', schema: { type: 'string' } },
  'Idempotent-Replayed': {
    description: '`true` when this is the stored answer to an earlier request with the same idempotency key',
    schema: { type: 'string', enum: ['true'] },
  },
  RateLimit: {
    description: 'The agent’s remaining requests and seconds until the window resets, e.g. `"agent";r=599;t=60` (draft-ietf-httpapi-ratelimit-headers)',
    schema: { type: 'string' },
  },
  'RateLimit-Policy': { description: 'The agent’s quota and window, e.g. `"agent";q=600;w=60` (draft-ietf-httpapi-ratelimit-headers)', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer', minimum: 0 } },
};

/** A response's `headers` object: references into `components.headers`. */
export function headerRefs(names: readonly ResponseHeader[] | undefined): Record<string, unknown> | undefined {
  if (!names?.length) return undefined;
  return Object.fromEntries([...new Set(names)].map((n) => [n, { $ref: `#/components/headers/${n}` }]));
}
