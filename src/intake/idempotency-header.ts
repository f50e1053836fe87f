import { Problem } from '../lib/errors';

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

/**
 * The `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header) works as the body's
 * `idempotency_key`: the header's key goes into the body before validation, so both paths are checked and
 * stored alike. The draft makes the value a structured-field string (`"abc"`); a bare token is accepted too.
 * Both given and different is a 422: which one the agent meant cannot be guessed.
 */
export function withIdempotencyHeader(body: unknown, header: string | undefined): unknown {
  if (header === undefined) return body;
  const key = unquote(header.trim());
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body; // the schema refuses it with its own words
  const given = (body as { idempotency_key?: unknown }).idempotency_key;
  if (given !== undefined && given !== key) {
    const message = 'the Idempotency-Key header and the body’s idempotency_key differ; send one, or the same in both';
    throw new Problem('validation-failed', `idempotency_key: ${message}`, { extensions: { errors: [{ path: 'idempotency_key', message, code: 'custom' }] } });
  }
  return { ...body, idempotency_key: key };
}

/** An sf-string (`"a\"b"`) to its value; anything else as it is. */
function unquote(value: string): string {
  const m = /^"((?:[^"\\]|\\["\\])*)"$/.exec(value);
  return m ? m[1]!.replace(/\\(["\\])/g, '$1') : value;
}
