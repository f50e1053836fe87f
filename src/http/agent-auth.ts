import type { RequestHandler } from 'express';
import type { Db } from '../db/client';
import { authenticateAgent } from '../auth/agents';
import { bearerToken } from '../auth/tokens';
import { Problem } from '../lib/errors';
import type { Principal } from '../auth/agents';
import type { CredentialCache } from '../auth/credential-cache';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/**
 * Bearer-token authentication for agent routes; a missing, revoked or expired token is a 401. With a
 * `cache` (POST /v1/actions only) the principal may come from it, marked `verifiedBy: 'cache'`.
 */
export function requireAgent(db: Db, cache?: CredentialCache): RequestHandler {
  return async (req, res, next) => {
    try {
      const token = bearerToken(req.get('authorization'));
      const principal = token ? await (cache ? cache.authenticate(token) : authenticateAgent(db, token)) : null;
      if (!principal) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="countersign"');
        throw new Problem('unauthenticated', token ? 'the token is invalid, expired or revoked' : 'an agent bearer token is required');
      }
      req.principal = principal;
      next();
    } catch (e) {
      next(e);
    }
  };
}
