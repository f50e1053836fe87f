import type { Db } from '../db/client';
import { appendEvents } from '../audit/append';
import { isProblem } from '../lib/errors';

/**
 * Refusals made inside the creating transaction roll it back, so their evidence is written afterwards in
 * its own transaction. Use as `.catch(auditRefusal(...))`: it records and rethrows.
 */
export function auditRefusal(db: Db, who: { agentId: string; correlationId: string | null; actionClass: string; idempotencyKey: string }) {
  return async (e: unknown): Promise<never> => {
    if (isProblem(e) && e.code === 'budget-exhausted') {
      await appendEvents(db, [
        {
          type: 'request.refused',
          actor: `agent:${who.agentId}`,
          agentId: who.agentId,
          correlationId: who.correlationId,
          data: { reason: 'budget-exhausted', action_class: who.actionClass, idempotency_key: who.idempotencyKey, budget: e.extensions.budget },
        },
      ]);
    }
    throw e;
  };
}
