import { CountersignError, WaitTimeoutError, type ProblemBody } from './errors.js';
import { DEFAULT_RETRY, parseRetryAfter, retryDelayMs, type RetryPolicy } from './retry.js';
import { TERMINAL_STATUSES, type ActionView, type CreateActionRequest } from './types.js';

export { CountersignError, WaitTimeoutError, isCountersignError, type ClientErrorCode, type ProblemBody } from './errors.js';
export { DEFAULT_RETRY, parseRetryAfter, retryDelayMs, type RetryPolicy } from './retry.js';
export {
  ACTION_STATUSES,
  TERMINAL_STATUSES,
  type ActionStatus,
  type ActionView,
  type CreateActionRequest,
  type Decision,
  type ProblemCode,
  type ReceiptPayload,
  type SignedReceipt,
} from './types.js';

/**
 * What `requestAction` takes: the API's request body, with the idempotency key optional (one is generated
 * per call and sent unchanged on each of that call's retries).
 */
export type RequestActionInput = Omit<CreateActionRequest, 'idempotency_key'> & { idempotency_key?: string };

export type ClientOptions = {
  /** Where Countersign listens, e.g. `https://countersign.internal`. */
  baseUrl: string;
  /** The agent's bearer token (`csa_…`). */
  token: string;
  retry?: Partial<RetryPolicy>;
  /** Per-request deadline, not counting a long poll's own wait. Default 30 s. */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
  /** For tests: how the client waits between retries. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  userAgent?: string;
};

const LONG_POLL_SECONDS = 30;

/**
 * A typed client for agents. Requests are retried on network errors, 5xx and 429 when the problem says
 * `retryable` — honouring `Retry-After` — and never otherwise; POSTs are safe to retry because the
 * idempotency key (generated when not given) is the same on every attempt.
 */
export class CountersignClient {
  private readonly base: string;
  private readonly retry: RetryPolicy;
  private readonly fetch: typeof fetch;
  private readonly sleep: NonNullable<ClientOptions['sleep']>;
  private readonly requestTimeoutMs: number;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.sleep = opts.sleep ?? abortableSleep;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
  }

  /**
   * Proposes an action. Resolves with the action (queued when policy allowed it, pending_approval or previewed); a denial and
   * every other refusal reject with a CountersignError carrying the problem code (`policy-denied`, …).
   */
  async requestAction(input: RequestActionInput, opts: { signal?: AbortSignal } = {}): Promise<ActionView> {
    const body = { ...input, idempotency_key: input.idempotency_key ?? `cs-${globalThis.crypto.randomUUID()}` };
    return this.call<ActionView>('POST', '/v1/actions', { body, signal: opts.signal });
  }

  async getAction(id: string, opts: { signal?: AbortSignal } = {}): Promise<ActionView> {
    return this.call<ActionView>('GET', `/v1/actions/${encodeURIComponent(id)}`, { signal: opts.signal });
  }

  /**
   * Long-polls until the action reaches an outcome (a terminal status, or whatever `until` says) or
   * `timeoutMs` passes (WaitTimeoutError, carrying the last state seen).
   */
  async waitForOutcome(
    id: string,
    opts: { timeoutMs?: number; until?: (action: ActionView) => boolean; signal?: AbortSignal } = {},
  ): Promise<ActionView> {
    const timeoutMs = opts.timeoutMs ?? 15 * 60_000;
    const done = opts.until ?? ((a: ActionView) => (TERMINAL_STATUSES as readonly string[]).includes(a.status));
    const deadline = Date.now() + timeoutMs;
    let current = await this.getAction(id, { signal: opts.signal });
    while (!done(current)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new WaitTimeoutError(current, timeoutMs);
      const wait = Math.max(1, Math.min(LONG_POLL_SECONDS, Math.floor(left / 1000)));
      const query = `?wait=${wait}&status=${encodeURIComponent(current.status)}`;
      current = await this.call<ActionView>('GET', `/v1/actions/${encodeURIComponent(id)}${query}`, {
        signal: opts.signal,
        extraTimeoutMs: wait * 1000,
      });
    }
    return current;
  }

  private async call<T>(method: string, path: string, o: { body?: unknown; signal?: AbortSignal; extraTimeoutMs?: number }): Promise<T> {
    const payload = o.body === undefined ? undefined : JSON.stringify(o.body);
    for (let attempt = 1; ; attempt++) {
      let failure: CountersignError;
      let retryAfterMs: number | null = null;
      try {
        const timeout = AbortSignal.timeout(this.requestTimeoutMs + (o.extraTimeoutMs ?? 0));
        const res = await this.fetch(this.base + path, {
          method,
          headers: {
            authorization: `Bearer ${this.opts.token}`,
            accept: 'application/json, application/problem+json',
            'user-agent': this.opts.userAgent ?? 'countersign-client',
            ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          body: payload,
          signal: o.signal ? AbortSignal.any([o.signal, timeout]) : timeout,
        });
        const text = await res.text();
        if (res.ok) {
          try {
            return JSON.parse(text) as T;
          } catch (cause) {
            throw new CountersignError({ message: `${method} ${path}: the response is not JSON`, code: 'invalid-response', status: res.status, retryable: false, attempts: attempt, cause });
          }
        }
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
        failure = problemError(res.status, text, retryAfterMs, attempt);
      } catch (e) {
        if (e instanceof CountersignError) throw e;
        // The caller gave up: never retry that.
        if (o.signal?.aborted) throw o.signal.reason ?? e;
        failure = new CountersignError({ message: `${method} ${path}: ${(e as Error).message}`, code: 'network', retryable: true, attempts: attempt, cause: e });
      }
      if (!failure.retryable || attempt > this.retry.maxRetries) throw failure;
      await this.sleep(retryDelayMs(this.retry, attempt - 1, retryAfterMs), o.signal);
      if (o.signal?.aborted) throw o.signal.reason;
    }
  }
}

/** Shorthand for `new CountersignClient(opts)`. */
export function createCountersignClient(opts: ClientOptions): CountersignClient {
  return new CountersignClient(opts);
}

/**
 * A problem body becomes a typed error. A non-problem answer (a proxy's 502 page) is retryable when it is a
 * 5xx, 429 or 408, the statuses that mean "not now" rather than "not this".
 */
function problemError(status: number, text: string, retryAfterMs: number | null, attempts: number): CountersignError {
  let problem: ProblemBody | null = null;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object') problem = parsed as ProblemBody;
  } catch {
    problem = null;
  }
  const fallbackRetryable = status >= 500 || status === 429 || status === 408;
  return new CountersignError({
    message: problem?.detail ?? problem?.title ?? `HTTP ${status}`,
    code: problem?.code ?? `http-${status}`,
    type: problem?.type ?? null,
    status,
    retryable: typeof problem?.retryable === 'boolean' ? problem.retryable : fallbackRetryable,
    problem,
    retryAfterSeconds: retryAfterMs === null ? null : Math.round(retryAfterMs / 1000),
    attempts,
  });
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      resolve();
    }
    signal?.addEventListener('abort', finish, { once: true });
  });
}
