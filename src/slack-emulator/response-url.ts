import type { IncomingMessage, ServerResponse } from 'node:http';
import { isObject } from './block-kit/issues.ts';
import type { ResponseUrlGrant, ResponseUrlStore } from './grants.ts';
import type { ResponseUrlPost } from './types.ts';
import { readMessageArgs } from './web-api/message-args.ts';
import type { Workspace } from './workspace.ts';

/**
 * Serves the response_urls handed out with slash commands and block actions (hooks.slack.com on Slack):
 * up to 5 posts in 30 minutes; `replace_original` / `delete_original` act on the source message,
 * `response_type: "in_channel"` posts to the channel, anything else is an ephemeral reply to the user.
 */
export interface ResponseUrlDeps {
  ws: Workspace;
  responseUrls: ResponseUrlStore;
  record: (post: ResponseUrlPost) => void;
}

export async function handleResponseUrl(req: IncomingMessage, res: ServerResponse, deps: ResponseUrlDeps): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const grant = deps.responseUrls.get(path);
  const body = await readBody(req);
  const answer = (status: number, text: string, post?: Omit<ResponseUrlPost, 'status' | 'responseBody' | 'at'>) => {
    if (post) deps.record({ ...post, status, responseBody: text, at: deps.ws.now() });
    const json = status === 200;
    res.writeHead(status, { 'content-type': json ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8' });
    res.end(json ? JSON.stringify({ ok: true }) : text);
  };
  if (!grant || req.method !== 'POST') return answer(404, 'no_service');
  const base = { url: grant.url, kind: grant.kind, user: grant.user, channel: grant.channel, body };
  const admitted = deps.responseUrls.admit(grant, deps.ws.now());
  if (admitted !== 'ok') return answer(404, admitted, { ...base, effect: 'rejected' });
  if (!isObject(body)) return answer(400, 'invalid_payload', { ...base, effect: 'rejected' });

  const effect = applyResponse(deps.ws, grant, body);
  if (typeof effect === 'object') return answer(400, effect.error, { ...base, effect: 'rejected' });
  return answer(200, 'ok', { ...base, effect });
}

function applyResponse(ws: Workspace, grant: ResponseUrlGrant, body: Record<string, unknown>): ResponseUrlPost['effect'] | { error: string } {
  const original = originalOf(ws, grant);
  if (body.delete_original === true || body.delete_original === 'true') {
    if (original) ws.deleteMessage(original);
    return 'deleted';
  }
  const content = readMessageArgs(body, true);
  if (!content.ok) return { error: String(content.response.error) };
  const { text, blocks, attachments } = content.value;
  const replace = body.replace_original === true || body.replace_original === 'true';
  if (replace && original) {
    ws.updateMessage(original, { text: text ?? '', blocks: blocks ?? [], attachments: attachments ?? [] }, 'response_url');
    return 'replaced';
  }
  const message = { text: text ?? '', blocks, attachments };
  const threadTs = typeof body.thread_ts === 'string' ? body.thread_ts : undefined;
  if (body.response_type === 'in_channel') {
    const channel = ws.resolveChannel(grant.channel);
    if (!channel) return { error: 'channel_not_found' };
    ws.postMessage(channel, message, { thread_ts: threadTs, via: 'response_url' });
    return 'in_channel';
  }
  ws.postEphemeral(grant.channel, grant.user, message, { thread_ts: threadTs, source: 'response_url' });
  return 'ephemeral';
}

function originalOf(ws: Workspace, grant: ResponseUrlGrant) {
  if (grant.messageTs === undefined) return undefined;
  if (grant.isEphemeral) return ws.findEphemeral(grant.channel, grant.messageTs);
  return ws.findMessage(grant.channel, grant.messageTs);
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const type = String(req.headers['content-type'] ?? '');
  try {
    if (type.includes('application/x-www-form-urlencoded')) {
      const form = new URLSearchParams(text);
      const payload = form.get('payload');
      return payload !== null ? JSON.parse(payload) : Object.fromEntries(form);
    }
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
