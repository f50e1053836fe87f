import express, { Router } from 'express';
import { SIGNATURE_HEADER, verifySignature } from '../executor/signature';

/**
 * The demo executor served by the sandbox itself: it checks the request signature as a real executor
 * must, does nothing, and answers with what it would have done. A repeated idempotency key gets the
 * first answer again, as a well-behaved executor would.
 */
export function sandboxExecutorRouter(secret: () => string | null): Router {
  const router = Router();
  const done = new Map<string, unknown>();
  router.post('/', express.text({ type: () => true, limit: '1mb' }), (req, res) => {
    const raw = typeof req.body === 'string' ? req.body : '';
    const key = secret();
    if (!key || !verifySignature(key, raw, req.header(SIGNATURE_HEADER))) {
      res.status(401).json({ error: 'bad signature' });
      return;
    }
    let body: { action_id?: string; action_class?: string; params?: unknown; payload_hash?: string; idempotency_key?: string };
    try {
      body = JSON.parse(raw);
    } catch {
      res.status(400).json({ error: 'body is not JSON' });
      return;
    }
    const idem = String(req.header('idempotency-key') ?? body.idempotency_key ?? '');
    if (!done.has(idem)) {
      done.set(idem, {
        ok: true,
        executor: 'sandbox',
        did: `pretended to run ${body.action_class} (nothing real happens in the sandbox)`,
        params: body.params ?? {},
        payload_hash: body.payload_hash,
        at: new Date().toISOString(),
      });
    }
    res.status(200).json(done.get(idem));
  });
  return router;
}
