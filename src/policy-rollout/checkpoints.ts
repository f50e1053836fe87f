import { and, eq } from 'drizzle-orm';
import type { Db } from '../db/client';
import { policyShadow } from '../db/schema';
import type { ReplayReport } from '../policy';

/** Rollout stages and what each asks of the shadow record before a candidate is promoted (docs/rollout.md). */
export const CHECKPOINTS = {
  alpha: { minShadowed: 50 },
  beta: { minShadowed: 1000 },
  ga: { minShadowed: 10000 },
} as const;
export type CheckpointName = keyof typeof CHECKPOINTS;

export type Gate = { name: string; passed: boolean; detail: string };

export type ShadowRecord = typeof policyShadow.$inferSelect;

export async function shadowRecord(db: Db, candidateVersion: string, enforcedVersion: string): Promise<ShadowRecord | null> {
  const [row] = await db
    .select()
    .from(policyShadow)
    .where(and(eq(policyShadow.candidateVersion, candidateVersion), eq(policyShadow.enforcedVersion, enforcedVersion)));
  return row ?? null;
}

/**
 * The gates in order: replay against recorded traffic first (nothing the enforced bundle denied would be
 * allowed), then the shadow record on live traffic (enough requests seen beside the enforced bundle, no new
 * allow on a high-risk class).
 */
export function checkGates(replay: ReplayReport, shadow: ShadowRecord | null, minShadowed: number): Gate[] {
  const denyToAllow = replay.changes.filter((c) => c.from_decision === 'deny' && c.to_decision === 'allow').reduce((s, c) => s + c.count, 0);
  return [
    {
      name: 'replay: no recorded denial would be allowed',
      passed: denyToAllow === 0,
      detail: `${replay.total} recorded request(s) replayed, ${replay.decision_changed} decision change(s), ${denyToAllow} deny → allow`,
    },
    {
      name: `shadow: at least ${minShadowed} live requests decided beside the enforced bundle`,
      passed: (shadow?.shadowed ?? 0) >= minShadowed,
      detail: `${shadow?.shadowed ?? 0} shadowed, ${shadow?.disagreements ?? 0} disagreement(s)`,
    },
    {
      name: 'shadow: no new allow on a high-risk class',
      passed: (shadow?.newAllowsHighRisk ?? 0) === 0,
      detail: `${shadow?.newAllows ?? 0} new allow(s), ${shadow?.newAllowsHighRisk ?? 0} on a class the enforced bundle denies or escalates as high risk`,
    },
  ];
}
