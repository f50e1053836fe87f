import { and, desc, eq, gt, isNotNull, sql } from 'drizzle-orm';
import type { ExecutorConfig } from '../config/file-config';
import type { DbOrTx } from '../db/client';
import { actions } from '../db/schema';
import { callExecutor, type ExecutorRequest } from '../executor/client';
import { Problem } from '../lib/errors';

/**
 * Asks the executor what the action would change (`dry_run: true`, signed like a commit). 2xx: its body
 * is the preview. 4xx: the executor says it would refuse (422 `dry-run-rejected`, its answer attached).
 * 5xx / timeout: 502 `executor-unavailable`, retryable. Nothing is recorded before a preview exists.
 */
export async function requestPreview(executor: ExecutorConfig, request: Omit<ExecutorRequest, 'dry_run'>): Promise<unknown> {
  if (!executor.supports_dry_run) {
    throw new Problem('dry-run-unsupported', `executor ${executor.name} does not support dry runs`, { extensions: { executor: executor.name } });
  }
  const outcome = await callExecutor(executor, { ...request, dry_run: true });
  if (outcome.kind === 'success') return outcome.body ?? null;
  if (outcome.kind === 'terminal') {
    throw new Problem('dry-run-rejected', `executor ${executor.name} answered ${outcome.status} to the dry run`, {
      extensions: { executor: executor.name, executor_status: outcome.status, executor_response: outcome.body },
    });
  }
  throw new Problem('executor-unavailable', `executor ${executor.name} could not produce a preview: ${outcome.reason}`, {
    retryAfterSeconds: 5,
    extensions: { executor: executor.name },
  });
}

/** How old a dry run's preview may be to be shown on the card of the real request. */
export const PREVIEW_REUSE_SECONDS = 3600;

/**
 * The preview of this agent's most recent dry run of exactly this payload (same payload hash) within the
 * last hour, so the approval card of the real request shows what the executor said would change.
 */
export async function findRecentPreview(db: DbOrTx, agentId: string, hash: string): Promise<unknown> {
  const [row] = await db
    .select({ preview: actions.preview })
    .from(actions)
    .where(
      and(
        eq(actions.agentId, agentId),
        eq(actions.payloadHash, hash),
        eq(actions.status, 'previewed'),
        isNotNull(actions.preview),
        gt(actions.createdAt, sql`now() - ${`${PREVIEW_REUSE_SECONDS} seconds`}::interval`),
      ),
    )
    .orderBy(desc(actions.createdAt))
    .limit(1);
  return row?.preview ?? null;
}
