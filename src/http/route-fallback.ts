import type { Express, RequestHandler } from 'express';
import { Problem } from '../lib/errors';

type Matcher = (path: string) => false | { path: string };
type Layer = {
  /** `app.use(fn)` / `app.use('/', router)`: express matches these without their matcher. */
  slash?: boolean;
  matchers?: Matcher[];
  route?: { methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
};

/**
 * The methods the app serves at `path`, found by walking its router stack with the same matchers express
 * routes with (nested routers included). Empty when no route matches the path at all.
 */
export function allowedMethods(app: Express, path: string): string[] {
  const methods = new Set<string>();
  const walk = (stack: Layer[], rest: string) => {
    for (const layer of stack) {
      const match = layer.slash ? { path: '' } : layer.matchers?.map((m) => m(rest)).find((m) => m !== false);
      if (!match) continue;
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') methods.add(method.toUpperCase());
      } else if (Array.isArray(layer.handle?.stack)) {
        walk(layer.handle.stack, rest.slice(match.path.length) || '/');
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, path);
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

/**
 * Mounted after every route, before the problem handler: a request nothing answered is a 404 problem, or a
 * 405 problem with `Allow` when the path exists under other methods. Express's own HTML 404 never shows.
 */
export function routeFallback(app: Express): RequestHandler {
  return (req, res, next) => {
    const allow = allowedMethods(app, req.path);
    if (allow.length === 0) return next(new Problem('not-found', `no route ${req.path}`));
    res.setHeader('Allow', allow.join(', '));
    next(new Problem('method-not-allowed', `${req.method} is not served at ${req.path}; allowed: ${allow.join(', ')}`, { extensions: { allow } }));
  };
}
