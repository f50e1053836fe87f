import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TriggerStore } from '../grants.ts';
import type { ApiCall, JsonObject } from '../types.ts';
import type { ViewStore } from '../view-store.ts';
import type { Workspace } from '../workspace.ts';
import { fail, str } from './context.ts';
import type { FaultQueue, RateLimiter } from './limits.ts';
import { METHODS } from './methods.ts';

export interface ApiDeps {
  ws: Workspace;
  views: ViewStore;
  triggers: TriggerStore;
  faults: FaultQueue;
  limiter: RateLimiter;
  tokens: { bot: string; app?: string };
  revoked: Set<'bot' | 'app'>;
  openSocketUrl: () => string;
  record: (call: ApiCall) => void;
}

const SCOPES = 'chat:write,chat:write.public,commands,users:read,usergroups:read,channels:read,groups:read,im:write';
const JSON_ARGS = ['blocks', 'attachments', 'view', 'metadata'];

interface ParsedRequest {
  args: Record<string, unknown>;
  contentType: string;
  headerToken?: string;
  bodyToken?: string;
  warnings: string[];
  error?: string;
}

/** Serves `POST /api/<method>` like slack.com/api: HTTP 200 with `ok:false` for errors, 429 + Retry-After when limited. */
export async function handleApiRequest(req: IncomingMessage, res: ServerResponse, method: string, deps: ApiDeps): Promise<void> {
  const parsed = await parseRequest(req);
  const call: ApiCall = {
    method,
    args: redactArgs(parsed.args),
    contentType: parsed.contentType,
    tokenKind: 'none',
    status: 200,
    response: {},
    headers: {},
    at: deps.ws.now(),
  };
  const send = (status: number, body: JsonObject, headers: Record<string, string> = {}, raw?: string) => {
    const allHeaders = { 'content-type': 'application/json; charset=utf-8', 'x-oauth-scopes': SCOPES, ...headers };
    Object.assign(call, { status, response: body, headers: allHeaders });
    deps.record(call);
    res.writeHead(status, allHeaders);
    res.end(raw ?? JSON.stringify(body));
  };

  const spec = METHODS[method];
  if (!spec) return send(200, fail('unknown_method', { req_method: method }));
  if (parsed.error) return send(200, fail(parsed.error));

  const fault = deps.faults.take(method);
  if (fault && 'delayMs' in fault) await sleep(fault.delayMs);
  else if (fault && 'error' in fault) {
    return send(200, fail(fault.error, fault.responseMetadata ? { response_metadata: fault.responseMetadata } : {}));
  } else if (fault && fault.status === 429) {
    const retryAfter = 'retryAfter' in fault && fault.retryAfter !== undefined ? fault.retryAfter : 1;
    return send(429, fail('ratelimited'), { 'retry-after': String(retryAfter) });
  } else if (fault) {
    const body = 'body' in fault && fault.body !== undefined ? fault.body : JSON.stringify(fail('internal_error'));
    return send(fault.status, fail('internal_error'), { 'content-type': 'text/plain; charset=utf-8' }, body);
  }

  const token = parsed.headerToken ?? parsed.bodyToken;
  const kind = token === undefined || token === '' ? 'none' : token === deps.tokens.bot ? 'bot' : token === deps.tokens.app ? 'app' : 'unknown';
  call.tokenKind = kind;
  if (kind === 'none') return send(200, fail('not_authed'));
  if (kind === 'unknown') return send(200, fail('invalid_auth'));
  if (deps.revoked.has(kind)) return send(200, fail('token_revoked'));
  if (kind !== spec.token) return send(200, fail('not_allowed_token_type'));
  if (spec.headerTokenOnly && parsed.headerToken === undefined) return send(200, fail('not_authed'));

  const retryAfter = deps.limiter.check(method, str(parsed.args.channel), deps.ws.now());
  if (retryAfter !== undefined) return send(429, fail('ratelimited'), { 'retry-after': String(retryAfter) });

  const body = spec.handler({
    args: parsed.args,
    ws: deps.ws,
    views: deps.views,
    triggers: deps.triggers,
    openSocketUrl: deps.openSocketUrl,
  });
  if (parsed.warnings.length > 0) {
    body.warning = parsed.warnings.join(',');
    const meta = (body.response_metadata ?? {}) as JsonObject;
    body.response_metadata = { ...meta, warnings: parsed.warnings };
  }
  return send(200, body);
}

async function parseRequest(req: IncomingMessage): Promise<ParsedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const contentType = String(req.headers['content-type'] ?? '');
  const auth = String(req.headers.authorization ?? '');
  const headerToken = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
  const result: ParsedRequest = { args: {}, contentType, warnings: [], ...(headerToken ? { headerToken } : {}) };
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  for (const [k, v] of query) result.args[k] = v;
  if (raw.length === 0) return withBodyToken(result);
  const mime = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (mime === 'application/x-www-form-urlencoded' || mime === 'text/plain') {
    for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) result.args[k] = v;
  } else if (mime === 'application/json') {
    try {
      const body: unknown = JSON.parse(raw.toString('utf8'));
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ...result, error: 'invalid_json' };
      // A JSON body's token field is not read: Slack wants JSON callers to use the Authorization header.
      const { token: _ignored, ...rest } = body as Record<string, unknown>;
      Object.assign(result.args, rest);
    } catch {
      return { ...result, error: 'invalid_json' };
    }
    if (!/charset=/i.test(contentType)) result.warnings.push('missing_charset');
    return result;
  } else if (mime === 'multipart/form-data') {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    for (const [k, v] of form) if (typeof v === 'string') result.args[k] = v;
  } else if (mime === '') {
    return { ...result, error: 'missing_post_type' };
  } else {
    return { ...result, error: 'invalid_post_type' };
  }
  return withBodyToken(result);
}

function withBodyToken(result: ParsedRequest): ParsedRequest {
  const token = result.args.token;
  if (typeof token === 'string') result.bodyToken = token;
  delete result.args.token;
  return result;
}

/** The recorded args: no token, JSON-string fields (blocks, view…) parsed for easy assertions. */
function redactArgs(args: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...args };
  delete copy.token;
  for (const key of JSON_ARGS) {
    const value = copy[key];
    if (typeof value !== 'string') continue;
    try {
      copy[key] = JSON.parse(value);
    } catch {
      // keep the raw string: the method answers the parse error
    }
  }
  return copy;
}
