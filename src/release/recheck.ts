import { eq } from 'drizzle-orm';
import type { Tx } from '../db/client';
import { agents, type ActionRow } from '../db/schema';
import type { FileConfig } from '../config/file-config';
import { findExecutor } from '../executor/registry';
import { payloadHash } from '../intake/payload-hash';
import type { Decision, PolicyBundle, PolicyInput } from '../policy';

/** Default time between approval and release (policy `escalation.release_window`, also used for policy allows). */
export const DEFAULT_RELEASE_WINDOW_SECONDS = 3600;

/** Why a release was stopped; `code` is stable (tests, dashboards), `reason` is for people. */
export type RecheckVerdict =
  | { kind: 'release' }
  | { kind: 'refuse'; code: RefusalCode; reason: string }
  | { kind: 'cancel'; code: 'agent-killed' | string; reason: string }
  /** Approved by policy, but the policy in force now wants a human: back to `pending_approval`. */
  | { kind: 'reapprove'; reason: string; decision: Decision };

export type RefusalCode =
  | 'executor-not-configured'
  | 'payload-changed'
  | 'approval-window-passed'
  | 'policy-denies'
  | 'approver-group-missing'
  | 'budget-exhausted'
  | (string & {});

/**
 * Controls owned by other features (budgets, kill switch beyond the agent's status), asked again at
 * release time inside the claim transaction. Budget reservations are settled by the state transition itself
 * (src/controls/budgets.ts#settleBudgets), so release needs no settle hook.
 */
export type ReleaseControls = {
  check?(tx: Tx, action: ActionRow): Promise<{ kind: 'refuse' | 'cancel'; code: string; reason: string } | null>;
  /**
   * Whether `check` could refuse or cancel this action at all, answered without the database. Where it answers
   * false the claim may skip `check` (the optimistic claim, claim-read.ts); without it, `check` always runs.
   */
  applies?(action: ActionRow, agent: { name: string }): boolean;
};

export type RecheckDeps = {
  config: Pick<FileConfig, 'executors' | 'approver_groups'>;
  policy: { current(): PolicyBundle };
  controls?: ReleaseControls;
  now?: () => number;
};

/** The checks made again at release (docs/release.md, "Re-checks at release"); the first that fails decides. */
export async function recheckRelease(deps: RecheckDeps, tx: Tx, row: ActionRow, agentStatus?: string | null): Promise<RecheckVerdict> {
  if (agentStatus === undefined) {
    const [agent] = await tx.select({ status: agents.status }).from(agents).where(eq(agents.id, row.agentId)).limit(1);
    agentStatus = agent?.status ?? null;
  }
  const own = recheckOwn(deps, row, agentStatus);
  if (own.kind !== 'release') return own;
  return recheckControls(deps, tx, row);
}

/**
 * Every re-check but the controls hook: kill switch (from the agent's status, read in the claim's
 * transaction), executor, payload hash, release window, policy. No database access.
 */
export function recheckOwn(deps: RecheckDeps, row: ActionRow, agentStatus: string | null): RecheckVerdict {
  if (agentStatus !== 'active') {
    return { kind: 'cancel', code: 'agent-killed', reason: `agent is ${agentStatus ?? 'gone'} (kill switch); nothing is released` };
  }
  if (!row.executor || !findExecutor(deps.config, row.executor)) {
    return { kind: 'refuse', code: 'executor-not-configured', reason: `executor "${row.executor}" is not configured` };
  }
  const hash = payloadHash({ action_class: row.actionClass, params: row.params, context: row.context, executor: row.executor, plan_hash: row.planHash });
  if (hash !== row.payloadHash || row.approvedPayloadHash !== row.payloadHash) {
    return { kind: 'refuse', code: 'payload-changed', reason: 'stored payload no longer hashes to the approved payload hash' };
  }
  const windowSeconds = releaseWindowSeconds(row);
  const now = deps.now?.() ?? Date.now();
  if (!row.approvedAt || now - row.approvedAt.getTime() > windowSeconds * 1000) {
    return {
      kind: 'refuse',
      code: 'approval-window-passed',
      reason: `the approval is older than its ${windowSeconds} s release window; request the action again for a fresh approval`,
    };
  }
  const decision = deps.policy.current().evaluate(storedPolicyInput(row));
  if (decision.decision === 'deny') {
    return {
      kind: 'refuse',
      code: 'policy-denies',
      reason: `policy ${decision.policy_version} now denies it (${decision.rule_id ?? 'no rule matched'}): ${decision.reasoning}`,
    };
  }
  if (decision.decision === 'escalate' && row.decision === 'allow') {
    const via = decision.escalation?.via;
    if (!via || !deps.config.approver_groups[via]) {
      return { kind: 'refuse', code: 'approver-group-missing', reason: `policy now requires approval by "${via ?? '(none)'}", which is not configured` };
    }
    return { kind: 'reapprove', reason: `policy ${decision.policy_version} now requires human approval (${decision.rule_id})`, decision };
  }
  return { kind: 'release' };
}

/** The controls hook (budgets, other kill switches), last of the re-checks, in the claim's transaction. */
export async function recheckControls(deps: RecheckDeps, tx: Tx, row: ActionRow): Promise<RecheckVerdict> {
  const control = await deps.controls?.check?.(tx, row);
  return control ?? { kind: 'release' };
}

/**
 * The policy input of a recorded action: its params and claims, and the facts established when it was
 * requested (the prepare step's, the agent's, the requester's, the usage then), so the policy in force now
 * decides on the same facts. An action recorded before facts were stored has only its params.
 */
export function storedPolicyInput(row: Pick<ActionRow, 'actionClass' | 'params' | 'context' | 'facts'>): PolicyInput {
  const facts = (row.facts ?? {}) as Record<string, unknown>;
  const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  return {
    action_class: row.actionClass,
    params: row.params,
    context: row.context,
    plan: obj(facts.plan) ?? null,
    agent: obj(facts.agent),
    requester: obj(facts.requester) ?? null,
    usage: obj(facts.usage),
  };
}

export function releaseWindowSeconds(row: Pick<ActionRow, 'escalation'>): number {
  const configured = Number((row.escalation as { release_window_seconds?: unknown } | null)?.release_window_seconds);
  return Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_RELEASE_WINDOW_SECONDS;
}
