import { Router } from 'express';
import { withTimeout } from './metrics';

export type ReadinessChecks = Record<string, () => Promise<unknown>>;

/**
 * `/healthz` says the process serves HTTP (liveness); `/readyz` says its dependencies answer (readiness).
 * Each check has a deadline: a Redis client that queues commands while reconnecting would otherwise hang
 * the probe instead of failing it.
 */
export function healthRouter(checks: ReadinessChecks, timeoutMs = 2000): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => void res.json({ ok: true }));
  router.get('/readyz', async (_req, res) => {
    const names = Object.keys(checks);
    const results = await Promise.allSettled(names.map((n) => withTimeout(checks[n]!(), timeoutMs)));
    const body: Record<string, boolean> = {};
    names.forEach((n, i) => (body[n] = results[i]!.status === 'fulfilled'));
    const ok = Object.values(body).every(Boolean);
    res.status(ok ? 200 : 503).set('cache-control', 'no-store').json({ ok, ...body });
  });
  return router;
}
