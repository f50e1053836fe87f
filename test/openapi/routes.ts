import type { Express } from 'express';

export type MountedRoute = { method: string; path: string };

type Layer = { route?: { path: unknown; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; rawPath?: unknown };

/**
 * Every route mounted on an express 5 app, found by walking its router stack (nested routers included),
 * with express paths turned into OpenAPI templates (`/actions/:id` → `/actions/{id}`).
 */
export function mountedRoutes(app: Express): MountedRoute[] {
  const out: MountedRoute[] = [];
  const walk = (stack: Layer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = typeof layer.route.path === 'string' ? layer.route.path : `<non-string path ${String(layer.route.path)}>`;
        for (const [method, on] of Object.entries(layer.route.methods)) {
          // A router's own '/' is its mount path (`/sandbox/` and `/sandbox` are one page).
          const full = path === '/' && prefix ? prefix : prefix + path;
          if (on) out.push({ method: method === '_all' ? 'all' : method, path: toTemplate(full) });
        }
      } else if (Array.isArray(layer.handle?.stack)) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  return out;
}

function toTemplate(path: string): string {
  return path.replace(/[:*]([A-Za-z0-9_]+)/g, '{$1}') || '/';
}
