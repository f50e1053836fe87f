import type { RequestHandler } from 'express';
import type { Db } from '../db/client';
import { authenticateAdmin, type AdminPrincipal } from '../auth/admin';
import { bearerToken } from '../auth/tokens';
import { Problem } from '../lib/errors';

declare module 'express-serve-static-core' {
  interface Request {
    admin?: AdminPrincipal;
  }
}

/** Admin routes need an admin credential; agent tokens are refused here (403), missing ones 401. */
export function requireAdmin(db: Db, bootstrapToken?: string): RequestHandler {
  return async (req, res, next) => {
    try {
      const token = bearerToken(req.get('authorization'));
      if (!token) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="countersign-admin"');
        throw new Problem('unauthenticated', 'an admin bearer token is required');
      }
      const admin = await authenticateAdmin(db, token, bootstrapToken);
      if (!admin) throw new Problem('forbidden', 'this credential is not an admin credential');
      req.admin = admin;
      next();
    } catch (e) {
      next(e);
    }
  };
}
