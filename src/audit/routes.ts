import { Router } from 'express';
import type { Db } from '../db/client';
import { findAgentByName } from '../auth/agents';
import { requireAdmin } from '../http/admin-auth';
import { Problem } from '../lib/errors';
import { parseQuery } from '../http/query';
import { toEventView } from './event-view';
import { decodeCursor, queryEvents } from './query';
import { auditQuery } from './schemas';

/** GET /v1/audit: the evidence stream, filtered and keyset-paginated. Admin credential only. */
export function auditRouter(deps: { db: Db; adminToken?: string }): Router {
  const router = Router();
  router.get('/audit', requireAdmin(deps.db, deps.adminToken), async (req, res, next) => {
    try {
      const { cursor, limit, order, agent, ...filter } = parseQuery(auditQuery, req.query);
      const after = cursor ? decodeCursor(cursor) : null;
      if (cursor && after === null) throw new Problem('invalid-request', 'cursor is not one this API returned');
      if (agent) {
        const row = await findAgentByName(deps.db, agent);
        if (!row) {
          res.json({ events: [], next_cursor: null });
          return;
        }
        if (filter.agent_id && filter.agent_id !== row.id) throw new Problem('invalid-request', 'agent and agent_id name different agents');
        filter.agent_id = row.id;
      }
      const page = await queryEvents(deps.db, filter, { after, limit, order });
      res.json({ events: page.events.map(toEventView), next_cursor: page.next_cursor });
    } catch (e) {
      next(e);
    }
  });
  return router;
}
