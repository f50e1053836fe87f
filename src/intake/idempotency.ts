import { and, eq, sql } from 'drizzle-orm';
import type { Db, DbOrTx } from '../db/client';
import { preparedOn } from '../db/prepared';
import { actions, type ActionRow } from '../db/schema';
import { Problem } from '../lib/errors';
import type { IntakeResponse } from './types';

/** What a replay needs of an earlier action with the same idempotency key. */
export type Replayable = Pick<ActionRow, 'id' | 'idempotencyKey' | 'requestHash' | 'responseStatus' | 'responseBody'>;

export async function findByIdempotencyKey(db: Db, agentId: string, key: string): Promise<Replayable | undefined> {
  // Runs on every request: prepared once (src/db/prepared.ts), and only the columns a replay answers with.
  const [row] = await preparedOn(db, 'find_by_idempotency_key', idempotencyLookup).execute({ agentId, key });
  return row;
}

function idempotencyLookup(db: DbOrTx, name: string) {
  return db
    .select({
      id: actions.id,
      idempotencyKey: actions.idempotencyKey,
      requestHash: actions.requestHash,
      responseStatus: actions.responseStatus,
      responseBody: actions.responseBody,
    })
    .from(actions)
    .where(and(eq(actions.agentId, sql.placeholder('agentId')), eq(actions.idempotencyKey, sql.placeholder('key'))))
    .limit(1)
    .prepare(name);
}

/** The first response again for the same request; a different request under the same key is a conflict. */
export function replayOrConflict(existing: Replayable, requestHash: string): IntakeResponse {
  if (existing.requestHash !== requestHash) {
    throw new Problem('idempotency-conflict', `idempotency key "${existing.idempotencyKey}" was used for a different request`, {
      extensions: { action_id: existing.id },
    });
  }
  return { status: existing.responseStatus ?? 201, body: existing.responseBody ?? {}, replayed: true };
}

/** A concurrent request with the same key won the insert: answer as its replay (or conflict). */
export async function answerDuplicate(db: Db, agentId: string, key: string, requestHash: string): Promise<IntakeResponse> {
  const winner = await findByIdempotencyKey(db, agentId, key);
  if (!winner) throw new Problem('idempotency-in-progress', 'a request with this idempotency key is in progress');
  return replayOrConflict(winner, requestHash);
}
