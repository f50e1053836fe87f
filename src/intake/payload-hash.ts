import { canonicalHash } from '../lib/canonical-json';

/**
 * What approvals bind to: SHA-256 over RFC 8785 JSON of class, params, context and executor, and the hash of the
 * plan when the executor prepared the action, so an approval covers the plan it was shown as well.
 */
export function payloadHash(p: {
  action_class: string;
  params: Record<string, unknown>;
  context: Record<string, unknown>;
  executor: string | null;
  plan_hash?: string | null;
}): string {
  const base = { action_class: p.action_class, params: p.params, context: p.context, executor: p.executor };
  return canonicalHash(p.plan_hash ? { ...base, plan_hash: p.plan_hash } : base);
}
