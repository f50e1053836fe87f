import { randomInt } from 'node:crypto';
import { slackId } from './ids.ts';
import type { JsonObject, StoredView } from './types.ts';
import type { Identity } from './workspace.ts';

/** Slack keeps at most 3 views in a modal stack. */
export const VIEW_STACK_LIMIT = 3;

/** Modals per user: each user has one stack (root first); views.push adds, submissions and closes pop. */
export class ViewStore {
  readonly views = new Map<string, StoredView>();
  private readonly stacks = new Map<string, string[]>();

  constructor(
    private readonly identity: Identity,
    private readonly now: () => number,
    private readonly onChange: (kind: string, detail: unknown) => void,
  ) {}

  stack(user: string): StoredView[] {
    return (this.stacks.get(user) ?? []).map((id) => this.views.get(id)).filter((v): v is StoredView => v !== undefined);
  }

  top(user: string): StoredView | undefined {
    return this.stack(user).at(-1);
  }

  findByExternalId(externalId: string): StoredView | undefined {
    for (const v of this.views.values()) if (v.external_id === externalId) return v;
    return undefined;
  }

  /** Opens a new root view, closing whatever stack the user had. */
  open(user: string, view: Record<string, unknown>): StoredView {
    for (const old of this.stack(user)) this.markClosed(old, 'replaced');
    const stored = this.create(user, view, null, null);
    this.stacks.set(user, [stored.id]);
    this.onChange('view_opened', { id: stored.id, user });
    return stored;
  }

  push(user: string, view: Record<string, unknown>): StoredView | 'push_limit_reached' {
    const stack = this.stacks.get(user) ?? [];
    if (stack.length >= VIEW_STACK_LIMIT) return 'push_limit_reached';
    const previous = stack.at(-1) ?? null;
    const root = previous ? (this.views.get(previous)?.root_view_id ?? previous) : null;
    const stored = this.create(user, view, previous, root);
    stack.push(stored.id);
    this.stacks.set(user, stack);
    this.onChange('view_pushed', { id: stored.id, user });
    return stored;
  }

  update(stored: StoredView, view: Record<string, unknown>): void {
    stored.view = this.render(stored.id, stored.user, view, stored.previous_view_id, stored.root_view_id);
    this.syncFields(stored);
    stored.errors = undefined;
    stored.history.push(stored.view);
    this.onChange('view_updated', { id: stored.id, user: stored.user });
  }

  /** Closes one view (a submission without response_action, or the user pressing Close). */
  close(stored: StoredView, by: NonNullable<StoredView['closedBy']>): void {
    const stack = this.stacks.get(stored.user) ?? [];
    const index = stack.indexOf(stored.id);
    if (index >= 0) stack.splice(index, 1);
    this.markClosed(stored, by);
  }

  /** `response_action: "clear"`: closes the whole stack. */
  clear(user: string): void {
    for (const v of this.stack(user)) this.markClosed(v, 'clear');
    this.stacks.set(user, []);
  }

  private markClosed(stored: StoredView, by: NonNullable<StoredView['closedBy']>): void {
    if (!stored.isOpen) return;
    stored.isOpen = false;
    stored.closedBy = by;
    this.onChange('view_closed', { id: stored.id, user: stored.user, by });
  }

  private create(user: string, view: Record<string, unknown>, previous: string | null, root: string | null): StoredView {
    const id = slackId('V');
    const rendered = this.render(id, user, view, previous, root ?? id);
    const stored: StoredView = {
      id,
      user,
      team_id: this.identity.teamId,
      type: String(view.type),
      callback_id: '',
      external_id: '',
      private_metadata: '',
      hash: '',
      root_view_id: root ?? id,
      previous_view_id: previous,
      view: rendered,
      isOpen: true,
      history: [rendered],
    };
    this.syncFields(stored);
    this.views.set(id, stored);
    return stored;
  }

  private syncFields(stored: StoredView): void {
    const v = stored.view;
    stored.type = String(v.type);
    stored.callback_id = String(v.callback_id ?? '');
    stored.external_id = String(v.external_id ?? '');
    stored.private_metadata = String(v.private_metadata ?? '');
    stored.hash = String(v.hash);
  }

  /** The view object as Slack returns it from views.* and puts it in view_submission payloads. */
  private render(
    id: string,
    _user: string,
    view: Record<string, unknown>,
    previous: string | null,
    root: string,
  ): JsonObject {
    const i = this.identity;
    return {
      id,
      team_id: i.teamId,
      type: view.type as string,
      blocks: (view.blocks ?? []) as JsonObject[],
      private_metadata: (view.private_metadata as string | undefined) ?? '',
      callback_id: (view.callback_id as string | undefined) ?? '',
      state: { values: {} },
      hash: `${Math.floor(this.now() / 1000)}.${randomInt(10_000_000, 99_999_999)}`,
      title: (view.title ?? null) as JsonObject | null,
      clear_on_close: (view.clear_on_close as boolean | undefined) ?? false,
      notify_on_close: (view.notify_on_close as boolean | undefined) ?? false,
      close: (view.close ?? null) as JsonObject | null,
      submit: (view.submit ?? null) as JsonObject | null,
      previous_view_id: previous,
      root_view_id: root,
      app_id: i.appId,
      external_id: (view.external_id as string | undefined) ?? '',
      app_installed_team_id: i.teamId,
      bot_id: i.botId,
    };
  }
}
