import { createHash } from 'node:crypto';
import canonicalizeImport from 'canonicalize';

// canonicalize ships CJS typings whose default export confuses ESM interop; normalise once here.
const canonicalizeFn = ((canonicalizeImport as unknown as { default?: unknown }).default ?? canonicalizeImport) as (
  value: unknown,
) => string | undefined;

/** RFC 8785 (JSON Canonicalization Scheme) serialisation. */
export function canonicalJson(value: unknown): string {
  const text = canonicalizeFn(value);
  if (text === undefined) throw new TypeError('value cannot be canonicalised as JSON');
  return text;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 over the canonical JSON of a value: the hash approvals bind to. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
