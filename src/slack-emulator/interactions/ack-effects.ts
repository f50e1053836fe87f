import { isObject } from '../block-kit/issues.ts';
import { validateView } from '../block-kit/validate.ts';
import type { StoredView } from '../types.ts';
import type { ViewStore } from '../view-store.ts';
import { readMessageArgs } from '../web-api/message-args.ts';
import type { Workspace } from '../workspace.ts';
import type { RawDelivery } from './deliver.ts';

/** The body of an ack: the HTTP response body, or a Socket Mode ack's payload. */
export function ackBody(raw: RawDelivery): Record<string, unknown> | undefined {
  if (raw.mode === 'socket') return isObject(raw.ackPayload) && Object.keys(raw.ackPayload).length > 0 ? raw.ackPayload : undefined;
  const text = raw.body.trim();
  if (text === '') return undefined;
  const isJson = (raw.headers['content-type'] ?? '').includes('json') || text.startsWith('{');
  if (isJson) {
    try {
      const parsed: unknown = JSON.parse(text);
      return isObject(parsed) ? parsed : undefined;
    } catch {
      return { text };
    }
  }
  return { text };
}

/**
 * A slash command's ack may carry a reply: shown only to the user (default) or in the channel with
 * `response_type: "in_channel"`. Returns an error when Slack could not show it.
 */
export function applyCommandAck(
  ws: Workspace,
  body: Record<string, unknown> | undefined,
  channel: string,
  user: string,
): string | undefined {
  if (!body) return undefined;
  const content = readMessageArgs(body, true);
  if (!content.ok) return String(content.response.error);
  const { text, blocks, attachments } = content.value;
  const message = { text: text ?? '', blocks, attachments };
  if (body.response_type === 'in_channel') {
    const record = ws.resolveChannel(channel);
    if (record) ws.postMessage(record, message, { via: 'ack' });
  } else {
    ws.postEphemeral(channel, user, message, { source: 'ack' });
  }
  return undefined;
}

/**
 * A view_submission's ack decides what happens to the modal: `errors` keeps it open with field errors,
 * `update`/`push` replace or stack a view, `clear` closes the stack, nothing closes this view.
 */
export function applyViewSubmissionAck(
  views: ViewStore,
  view: StoredView,
  body: Record<string, unknown> | undefined,
): string | undefined {
  const action = body?.response_action;
  if (action === undefined) {
    views.close(view, 'submission');
    return undefined;
  }
  switch (action) {
    case 'errors': {
      if (!isObject(body?.errors)) return 'invalid response_action errors: errors must be an object';
      view.errors = Object.fromEntries(Object.entries(body.errors).map(([k, v]) => [k, String(v)]));
      return undefined;
    }
    case 'update':
    case 'push': {
      const next = validateView(body?.view);
      if (!next.ok) return `${next.error}: ${(next.messages ?? []).join('; ')}`;
      if (action === 'update') views.update(view, next.value);
      else if (views.push(view.user, next.value) === 'push_limit_reached') return 'push_limit_reached';
      return undefined;
    }
    case 'clear':
      views.clear(view.user);
      return undefined;
    default:
      return `unknown response_action ${JSON.stringify(action)}`;
  }
}
