import type { ProblemCode } from './types.js';

/** Client-side failures that never came from the server as a problem. */
export type ClientErrorCode = 'network' | 'wait-timeout' | 'invalid-response';

export type ProblemBody = {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  retryable?: boolean;
  retry_after_seconds?: number;
  [extension: string]: unknown;
};

/**
 * Every failure the client reports. `code` is the server's stable problem code (or a client-side one),
 * `retryable` says whether the same request may succeed later — the client has already retried those as
 * far as its policy allows by the time you see one.
 */
export class CountersignError extends Error {
  readonly code: ProblemCode | ClientErrorCode | (string & {});
  readonly type: string | null;
  readonly status: number | null;
  readonly retryable: boolean;
  /** The whole problem body (extensions such as `errors`, `action_id`, `decision` included). */
  readonly problem: ProblemBody | null;
  readonly retryAfterSeconds: number | null;
  /** How many HTTP attempts were made before giving up. */
  readonly attempts: number;

  constructor(init: {
    message: string;
    code: CountersignError['code'];
    status?: number | null;
    type?: string | null;
    retryable: boolean;
    problem?: ProblemBody | null;
    retryAfterSeconds?: number | null;
    attempts?: number;
    cause?: unknown;
  }) {
    super(init.message, init.cause !== undefined ? { cause: init.cause } : undefined);
    this.name = 'CountersignError';
    this.code = init.code;
    this.type = init.type ?? null;
    this.status = init.status ?? null;
    this.retryable = init.retryable;
    this.problem = init.problem ?? null;
    this.retryAfterSeconds = init.retryAfterSeconds ?? null;
    this.attempts = init.attempts ?? 1;
  }

  /** The action a problem refers to, when it names one (policy denials do). */
  get actionId(): string | null {
    const id = this.problem?.action_id;
    return typeof id === 'string' ? id : null;
  }
}

/** waitForOutcome ran out of time; `last` is the action as it was when it gave up. */
export class WaitTimeoutError<T> extends CountersignError {
  constructor(
    readonly last: T,
    timeoutMs: number,
  ) {
    super({ message: `the action did not reach an outcome within ${timeoutMs} ms`, code: 'wait-timeout', retryable: true });
    this.name = 'WaitTimeoutError';
  }
}

export function isCountersignError(e: unknown): e is CountersignError {
  return e instanceof CountersignError;
}
