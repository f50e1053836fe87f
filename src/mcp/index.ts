import express, { Router } from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { requireAgent } from '../http/agent-auth';
import { clientGone } from '../http/client-gone';
import { jsonBody } from '../http/json-body';
import type { IntakeDeps } from '../intake/service';
import type { LongPollDeps } from '../intake/wait';
import { registerTools } from './tools';

export const MCP_PATH = '/mcp';

const VERSION = '0.1.0';

/**
 * MCP over Streamable HTTP at /mcp, stateless: every POST carries the agent's bearer token and gets a fresh
 * server bound to that agent, so nothing is kept between calls and any instance can answer. GET (a
 * server-to-client stream) and DELETE (end a session) have no meaning without sessions: they are not routed,
 * so the app's route fallback answers 405 with `Allow: POST` (src/http/route-fallback.ts).
 */
export function mcpRouter(deps: IntakeDeps & LongPollDeps): Router {
  const router = Router();
  const json = jsonBody({ limit: '256kb' });

  router.post(MCP_PATH, requireAgent(deps.db), ...json, async (req, res, next) => {
    // A client gone before its call is read gets no answer: nothing of it is run (a wait would hold its slot).
    const gone = clientGone(req, res);
    if (gone.aborted) return;
    const server = new McpServer({ name: 'countersign', version: VERSION }, { capabilities: { tools: {} } });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    try {
      registerTools(server, deps, req.principal!, deps.shutdown ? AbortSignal.any([deps.shutdown, gone]) : gone);
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    } catch (e) {
      next(e);
    }
  });

  // A body that is not JSON is a JSON-RPC parse error (-32700), as an MCP client expects, not an HTTP problem.
  const parseError: express.ErrorRequestHandler = (error, req, res, next) => {
    if (req.path !== MCP_PATH || (error as { type?: string })?.type !== 'entity.parse.failed') return next(error);
    res.status(400).json({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: the body is not valid JSON' }, id: null });
  };
  router.use(parseError);
  return router;
}
