import { validateView } from '../block-kit/validate.ts';
import type { JsonObject } from '../types.ts';
import { type MethodContext, fail, failWithMessages, str } from './context.ts';

/** views.open: exchanges a trigger_id (valid 3 s, once) for a new root modal for the user who acted. */
export function viewsOpen(ctx: MethodContext): JsonObject {
  return openOrPush(ctx, 'open');
}

/** views.push: like views.open but stacks on the user's open modal (at most 3 deep). */
export function viewsPush(ctx: MethodContext): JsonObject {
  return openOrPush(ctx, 'push');
}

function openOrPush({ args, ws, views, triggers }: MethodContext, mode: 'open' | 'push'): JsonObject {
  if (args.view === undefined) return failWithMessages('invalid_arguments', ['[ERROR] missing required field: view [json-pointer:/view]']);
  const triggerRef = args.trigger_id ?? args.interactivity_pointer;
  if (triggerRef === undefined) return failWithMessages('invalid_arguments', ['[ERROR] missing required field: trigger_id']);
  const view = validateView(args.view);
  if (!view.ok) return failWithMessages(view.error, view.messages);
  const externalId = str(view.value.external_id);
  if (externalId && views.findByExternalId(externalId)) return fail('duplicate_external_id');
  const trigger = triggers.exchange(triggerRef, ws.now());
  if (!trigger.ok) return fail(trigger.error);
  const user = trigger.grant.user;
  if (mode === 'open') return { ok: true, view: views.open(user, view.value).view };
  const pushed = views.push(user, view.value);
  if (pushed === 'push_limit_reached') return fail('push_limit_reached');
  return { ok: true, view: pushed.view };
}

/** views.update: by view_id or external_id, refusing a stale `hash` with hash_conflict. */
export function viewsUpdate({ args, views }: MethodContext): JsonObject {
  const viewId = str(args.view_id);
  const externalId = str(args.external_id);
  if (!viewId && !externalId) {
    return failWithMessages('invalid_arguments', ['[ERROR] either view_id or external_id is required']);
  }
  if (args.view === undefined) return failWithMessages('invalid_arguments', ['[ERROR] missing required field: view [json-pointer:/view]']);
  const stored = viewId ? views.views.get(viewId) : views.findByExternalId(externalId ?? '');
  if (!stored || !stored.isOpen) return fail('not_found');
  const hash = str(args.hash);
  if (hash && hash !== stored.hash) return fail('hash_conflict');
  const view = validateView(args.view);
  if (!view.ok) return failWithMessages(view.error, view.messages);
  views.update(stored, view.value);
  return { ok: true, view: stored.view };
}
