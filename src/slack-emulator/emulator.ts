import { EventEmitter } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ResponseUrlStore, TriggerStore } from './grants.ts';
import type { DeliveryTarget } from './interactions/deliver.ts';
import * as actions from './interactions/user-actions.ts';
import { type Routes, routeRequest } from './http-routes.ts';
import { SocketModeHub } from './socket-mode.ts';
import type {
  ApiCall,
  DeliveryResult,
  EphemeralMessage,
  Fault,
  RateLimitRule,
  ResponseUrlPost,
  SlackEmulatorOptions,
  StoredMessage,
  StoredView,
  WaitOptions,
} from './types.ts';
import { ViewStore } from './view-store.ts';
import { waitFor } from './waiters.ts';
import { FaultQueue, RateLimiter } from './web-api/limits.ts';
import { type Identity, Workspace } from './workspace.ts';

export type Delivery = DeliveryResult & { kind: string };

/** Records kept for inspection; a long sandbox session keeps only the most recent ones. */
const MAX_RECORDS = 10_000;

function remember<T>(list: T[], item: T): void {
  list.push(item);
  if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS);
}

/** A running Slack emulator: Web API, response URLs, Socket Mode and the user-side actions. */
export class SlackEmulator extends EventEmitter {
  /** Base URL of the emulator (`http://127.0.0.1:PORT`). */
  readonly url: string;
  /** Give this to the app as SLACK_API_URL / WebClient `slackApiUrl`; ends in `/api/`. */
  readonly apiUrl: string;
  readonly identity: Identity;
  /** Every Web API call, in arrival order. */
  readonly calls: ApiCall[] = [];
  /** Every interaction and slash command delivered to the app, with how the app answered. */
  readonly deliveries: Delivery[] = [];
  private readonly posts: ResponseUrlPost[] = [];
  private readonly ws: Workspace;
  private readonly views: ViewStore;
  private readonly hub: SocketModeHub;
  private readonly faults = new FaultQueue();
  private readonly limiter: RateLimiter;
  private readonly revoked = new Set<'bot' | 'app'>();
  private readonly interactions: actions.InteractionDeps;
  private eventsUrl: string | undefined;

  private constructor(
    private readonly server: Server,
    private readonly opts: SlackEmulatorOptions,
    parts: { ws: Workspace; views: ViewStore; hub: SocketModeHub; triggers: TriggerStore; responseUrls: ResponseUrlStore },
  ) {
    super();
    // Waiters and sandbox page subscribers each listen for 'change'; there is no leak to warn about.
    this.setMaxListeners(0);
    const address = server.address() as AddressInfo;
    const host = opts.host ?? '127.0.0.1';
    this.url = `http://${host}:${address.port}`;
    this.apiUrl = `${this.url}/api/`;
    this.ws = parts.ws;
    this.views = parts.views;
    this.hub = parts.hub;
    this.identity = parts.ws.identity;
    this.limiter = new RateLimiter(opts.rateLimits);
    this.eventsUrl = opts.eventsUrl;
    this.interactions = {
      ws: parts.ws,
      views: parts.views,
      triggers: parts.triggers,
      responseUrls: parts.responseUrls,
      target: () => this.deliveryTarget(),
      baseUrl: () => this.url,
      record: (d) => {
        remember(this.deliveries, d);
        this.changed('delivery', { kind: d.kind, ok: d.ok });
      },
    };
    const routes: Routes = {
      api: {
        ...parts,
        faults: this.faults,
        limiter: this.limiter,
        tokens: { bot: opts.botToken, ...(opts.appToken ? { app: opts.appToken } : {}) },
        revoked: this.revoked,
        openSocketUrl: () => parts.hub.issueUrl(this.url.replace(/^http/, 'ws')),
        record: (call) => {
          remember(this.calls, call);
          this.changed('call', { method: call.method, status: call.status });
        },
      },
      responseUrls: {
        ws: parts.ws,
        responseUrls: parts.responseUrls,
        record: (post) => {
          remember(this.posts, post);
          this.changed('response_url', { url: post.url, status: post.status });
        },
      },
      snapshot: () => this.toJSON(),
    };
    server.on('request', (req, res) => {
      routeRequest(req, res, routes).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    });
    server.on('upgrade', (req, socket, head) => {
      if ((req.url ?? '').startsWith('/link')) parts.hub.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
  }

  /** Starts an emulator on `host:port` (default 127.0.0.1 and a free port). */
  static async start(opts: SlackEmulatorOptions): Promise<SlackEmulator> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
    });
    let emulator: SlackEmulator | undefined;
    const onChange = (kind: string, detail: unknown) => emulator?.changed(kind, detail);
    const ws = new Workspace(opts, onChange);
    const parts = {
      ws,
      views: new ViewStore(ws.identity, () => ws.now(), onChange),
      hub: new SocketModeHub(ws.identity.appId, onChange),
      triggers: new TriggerStore(opts.triggerTtlMs ?? 3000),
      responseUrls: new ResponseUrlStore(),
    };
    emulator = new SlackEmulator(server, opts, parts);
    return emulator;
  }

  private changed(kind: string, detail: unknown): void {
    this.emit('change', { kind, ...(typeof detail === 'object' && detail !== null ? detail : {}) });
  }

  private deliveryTarget(): DeliveryTarget {
    return {
      hub: this.hub,
      eventsUrl: this.eventsUrl,
      signingSecret: this.opts.signingSecret,
      ackTimeoutMs: this.opts.ackTimeoutMs ?? 3000,
    };
  }

  /** Where HTTP-mode interactions and slash commands go (e.g. `http://127.0.0.1:3000/slack/events`). */
  setEventsUrl(url: string | undefined): void {
    this.eventsUrl = url;
  }

  async close(): Promise<void> {
    this.hub.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    this.removeAllListeners();
  }

  // ── state ──────────────────────────────────────────────────────────────────

  private channelId(ref: string): string {
    return this.ws.resolveChannel(ref, { allowName: true })?.id ?? ref;
  }

  /** Top-level messages of a channel (id or name), current content plus `history` of every version. */
  messages(channel: string, opts: { includeDeleted?: boolean } = {}): StoredMessage[] {
    return this.ws.topLevel(this.channelId(channel)).filter((m) => opts.includeDeleted || !m.deleted);
  }

  message(channel: string, ts: string): StoredMessage | undefined {
    return this.ws.findMessage(this.channelId(channel), ts);
  }

  /** Replies in the thread of `ts` (the parent itself is in `messages`). */
  thread(channel: string, ts: string): StoredMessage[] {
    return this.ws.replies(this.channelId(channel), ts).filter((m) => !m.deleted);
  }

  ephemerals(channel?: string, user?: string): EphemeralMessage[] {
    const id = channel === undefined ? undefined : this.channelId(channel);
    return this.ws.ephemeralMessages.filter((e) => !e.deleted && (id === undefined || e.channel === id) && (user === undefined || e.user === user));
  }

  /** Every view ever opened or pushed, oldest first (see `isOpen`). */
  openedViews(): StoredView[] {
    return [...this.views.views.values()];
  }

  /** The user's current modal stack, root first. */
  viewStack(user: string): StoredView[] {
    return this.views.stack(user);
  }

  callsTo(method: string): ApiCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  responseUrlPosts(filter: { url?: string; user?: string; channel?: string } = {}): ResponseUrlPost[] {
    return this.posts.filter(
      (p) =>
        (filter.url === undefined || p.url === filter.url) &&
        (filter.user === undefined || p.user === filter.user) &&
        (filter.channel === undefined || p.channel === filter.channel),
    );
  }

  /** Number of open Socket Mode connections. */
  get socketConnections(): number {
    return this.hub.openConnections.length;
  }

  /** Frames the app sent on its sockets (acks included), oldest first. */
  socketMessagesReceived(): unknown[] {
    return [...this.hub.connections.values()].flatMap((c) => c.received);
  }

  // ── waiting ────────────────────────────────────────────────────────────────

  waitFor<T>(predicate: () => T | undefined | null | false, opts?: WaitOptions): Promise<T> {
    return waitFor(this, predicate, opts);
  }

  /** Waits for a message (top-level or reply) in the channel that matches. */
  waitForMessage(channel: string, predicate: (m: StoredMessage) => boolean = () => true, opts: WaitOptions = {}): Promise<StoredMessage> {
    return this.waitFor(
      () => (this.ws.messagesByChannel.get(this.channelId(channel)) ?? []).find((m) => !m.deleted && predicate(m)),
      { description: `a message in ${channel}`, ...opts },
    );
  }

  waitForCall(method: string, predicate: (c: ApiCall) => boolean = () => true, opts: WaitOptions = {}): Promise<ApiCall> {
    return this.waitFor(() => this.calls.find((c) => c.method === method && predicate(c)), { description: `a ${method} call`, ...opts });
  }

  waitForView(predicate: (v: StoredView) => boolean = (v) => v.isOpen, opts: WaitOptions = {}): Promise<StoredView> {
    return this.waitFor(() => this.openedViews().find(predicate), { description: 'a view', ...opts });
  }

  waitForSocket(opts: WaitOptions = {}): Promise<number> {
    return this.waitFor(() => this.socketConnections, { description: 'a Socket Mode connection', ...opts });
  }

  // ── faults ─────────────────────────────────────────────────────────────────

  /** Makes the next call(s) to `method` fail: `{status: 429, retryAfter}`, `{error}`, `{status: 500}` or `{delayMs}`. */
  failNext(method: string, fault: Fault): void {
    this.faults.add(method, fault);
  }

  /** Sets (or, with null, removes) a persistent rate limit on a method. */
  setRateLimit(method: string, rule: RateLimitRule | null): void {
    this.limiter.set(method, rule);
  }

  /** From now on calls with this token answer `token_revoked`. */
  revokeToken(kind: 'bot' | 'app'): void {
    this.revoked.add(kind);
  }

  /**
   * A trigger_id as if `user` had just interacted (valid 3 s, once): a shortcut for testing views.* without
   * a click or command first.
   */
  issueTriggerId(user: string): string {
    return this.interactions.triggers.issue(user, this.ws.now());
  }

  /** Moves the emulator's clock forward: trigger_ids (3 s) and response_urls (30 min) expire by it. */
  advanceClock(ms: number): void {
    this.ws.advance(ms);
  }

  /** Sends Socket Mode's `disconnect` control message to every open socket, closing them after `closeAfterMs`. */
  disconnectSocket(opts: { reason?: 'warning' | 'refresh_requested' | 'link_disabled'; closeAfterMs?: number } = {}): void {
    this.hub.disconnect(opts.reason ?? 'refresh_requested', opts.closeAfterMs ?? 1000);
  }

  // ── user actions ───────────────────────────────────────────────────────────

  /** A user presses a button that exists in a stored message (or open modal). */
  clickButton(opts: actions.ClickButtonOptions): Promise<DeliveryResult> {
    return actions.clickButton(this.interactions, opts);
  }

  /** A user submits their visible modal. */
  submitView(opts: actions.SubmitViewOptions): Promise<DeliveryResult> {
    return actions.submitView(this.interactions, opts);
  }

  /** A user closes a modal; resolves with the view_closed delivery when the view has notify_on_close. */
  closeView(opts: { viewId: string; user: string }): Promise<DeliveryResult | undefined> {
    return actions.closeView(this.interactions, opts);
  }

  /** A user runs a slash command in a channel. */
  slashCommand(opts: actions.SlashCommandOptions): Promise<DeliveryResult> {
    return actions.slashCommand(this.interactions, opts);
  }

  // ── rendering ──────────────────────────────────────────────────────────────

  /** A JSON snapshot of the workspace for the sandbox page: channels with messages and threads, ephemerals, views. */
  toJSON() {
    const channels = [...this.ws.channels.values()].map((c) => ({
      id: c.id,
      name: c.name,
      is_im: c.is_im,
      is_private: c.is_private ?? false,
      messages: this.ws.topLevel(c.id).map((m) => ({ ...m, replies: this.ws.replies(c.id, m.ts) })),
    }));
    return structuredClone({
      team: this.identity,
      users: [...this.ws.users.values()],
      channels,
      ephemerals: this.ws.ephemeralMessages,
      views: this.openedViews(),
    });
  }
}
