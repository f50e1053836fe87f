import { canonicalHash } from '../lib/canonical-json';

/** What approvals bind to: SHA-256 over RFC 8785 JSON of class, params, context and executor. */
export function payloadHash(p: {
  action_class: string;
  params: Record<string, unknown>;
  context: Record<string, unknown>;
  executor: string | null;
}): string {
  return canonicalHash({ action_class: p.action_class, params: p.params, context: p.context, executor: p.executor });
}
