import { Router } from 'express';
import type { DependencyProbe } from './probe';

export type { ReadinessChecks } from './probe';

/**
 * `/healthz` says the process serves HTTP (liveness); `/readyz` says its dependencies answer (readiness),
 * read from the dependency probe's last round: it answers at once, during an outage too.
 */
export function healthRouter(probe: Pick<DependencyProbe, 'results'>): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => void res.json({ ok: true }));
  router.get('/readyz', (_req, res) => {
    const body = probe.results();
    const ok = Object.values(body).every(Boolean);
    res.status(ok ? 200 : 503).set('cache-control', 'no-store').json({ ok, ...body });
  });
  return router;
}
