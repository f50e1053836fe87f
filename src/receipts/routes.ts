import { Router } from 'express';
import type { Db } from '../db/client';
import { publishedKeys } from './keys';

/** GET /.well-known/countersign-keys: the public keys that verify receipts (JWKS-shaped, OKP/Ed25519). */
export function receiptKeysRouter(db: Db): Router {
  const router = Router();
  router.get('/.well-known/countersign-keys', async (_req, res, next) => {
    try {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.json(await publishedKeys(db));
    } catch (e) {
      next(e);
    }
  });
  return router;
}
