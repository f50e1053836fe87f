import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ResponseUrlDeps, handleResponseUrl } from './response-url.ts';
import { type ApiDeps, handleApiRequest } from './web-api/router.ts';

export interface Routes {
  api: ApiDeps;
  responseUrls: ResponseUrlDeps;
  /** The sandbox page's view of the workspace (`GET /emulator/state`). */
  snapshot: () => unknown;
}

/** `/api/<method>` is slack.com/api, `/hooks/…` is hooks.slack.com (response_urls), `/emulator/state` a JSON snapshot. */
export async function routeRequest(req: IncomingMessage, res: ServerResponse, routes: Routes): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path.startsWith('/api/')) return handleApiRequest(req, res, decodeURIComponent(path.slice('/api/'.length)), routes.api);
  if (path.startsWith('/hooks/')) return handleResponseUrl(req, res, routes.responseUrls);
  if (req.method === 'GET' && path === '/emulator/state') {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(routes.snapshot()));
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found');
}
