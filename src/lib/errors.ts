/**
 * Expected failures are values with a closed set of codes. One HTTP handler turns them into
 * application/problem+json (RFC 9457). `docs/errors.md` lists every code; a test keeps the two in step.
 */
export const PROBLEM_TYPES = {
  'invalid-request': { status: 400, title: 'The request is malformed', retryable: false },
  'validation-failed': { status: 422, title: 'The request failed validation', retryable: false },
  'invalid-action-class': { status: 422, title: 'The action class is not a valid name', retryable: false },
  'contract-violation': { status: 422, title: 'The parameters break the executor contract', retryable: false },
  'payload-too-large': { status: 413, title: 'The request body is too large', retryable: false },
  'unsupported-media-type': { status: 415, title: 'The request body must be application/json', retryable: false },
  unauthenticated: { status: 401, title: 'Missing or invalid credentials', retryable: false },
  'agent-suspended': { status: 403, title: 'The agent is suspended', retryable: false },
  'out-of-scope': { status: 403, title: 'The action class is outside the agent’s scopes', retryable: false },
  forbidden: { status: 403, title: 'The credential may not do this', retryable: false },
  'policy-denied': { status: 403, title: 'Policy denied the action', retryable: false },
  'not-found': { status: 404, title: 'No such resource', retryable: false },
  'method-not-allowed': { status: 405, title: 'The resource does not support this method', retryable: false },
  'idempotency-conflict': {
    status: 409,
    title: 'The idempotency key was already used with a different payload',
    retryable: false,
  },
  'idempotency-in-progress': {
    status: 409,
    title: 'A request with this idempotency key is still being processed',
    retryable: true,
  },
  'invalid-state': { status: 409, title: 'The action is not in a state that allows this', retryable: false },
  'rate-limited': { status: 429, title: 'Too many requests', retryable: true },
  'too-many-long-polls': { status: 429, title: 'Too many long polls are open', retryable: true },
  'budget-exhausted': { status: 429, title: 'A budget for this agent or task is exhausted', retryable: false },
  'no-executor': { status: 422, title: 'No executor serves this action class', retryable: false },
  'dry-run-unsupported': { status: 422, title: 'The executor does not support dry runs', retryable: false },
  'dry-run-rejected': { status: 422, title: 'The executor says the action would be rejected', retryable: false },
  'executor-unavailable': { status: 502, title: 'The executor could not produce a preview', retryable: true },
  'prepare-unavailable': { status: 503, title: 'The executor could not prepare the action', retryable: true },
  'prepare-refused': { status: 422, title: 'The executor refused to prepare the action', retryable: false },
  'prepare-malformed': { status: 502, title: 'The executor answered the prepare step with malformed data', retryable: false },
  'unknown-requester': { status: 422, title: 'on_behalf_of is not a known Slack user', retryable: false },
  'directory-unavailable': { status: 503, title: 'The Slack directory could not be asked', retryable: true },
  'task-not-open': { status: 409, title: 'The task is not open for this agent', retryable: false },
  'task-limit': { status: 429, title: 'The agent holds or opened too many tasks', retryable: false },
  'service-unavailable': { status: 503, title: 'A backing service is unavailable', retryable: true },
  internal: { status: 500, title: 'Internal error', retryable: true },
} as const satisfies Record<string, { status: number; title: string; retryable: boolean }>;

export type ProblemCode = keyof typeof PROBLEM_TYPES;

export const PROBLEM_TYPE_BASE = 'https://countersign.dev/problems/';

export class Problem extends Error {
  readonly code: ProblemCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly extensions: Record<string, unknown>;
  readonly retryAfterSeconds: number | undefined;
  readonly headers: Record<string, string>;

  constructor(
    code: ProblemCode,
    detail: string,
    opts: { extensions?: Record<string, unknown>; retryAfterSeconds?: number; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.name = 'Problem';
    this.code = code;
    this.status = PROBLEM_TYPES[code].status;
    this.retryable = PROBLEM_TYPES[code].retryable;
    this.extensions = opts.extensions ?? {};
    this.retryAfterSeconds = opts.retryAfterSeconds;
    this.headers = opts.headers ?? {};
  }

  /**
   * The RFC 9457 body. Extensions add context but can never replace a member a client relies on: `type`,
   * `title`, `status` (always the HTTP status), `detail`, `instance`, and this API's `code` and `retryable`.
   * A clashing extension is dropped here, so no caller can send `"status": "denied"` by accident.
   */
  toJSON(instance?: string): Record<string, unknown> {
    const extensions = Object.fromEntries(Object.entries(this.extensions).filter(([key]) => !RESERVED_MEMBERS.has(key)));
    return {
      type: PROBLEM_TYPE_BASE + this.code,
      title: PROBLEM_TYPES[this.code].title,
      status: this.status,
      detail: this.message,
      code: this.code,
      retryable: this.retryable,
      ...(this.retryAfterSeconds !== undefined ? { retry_after_seconds: this.retryAfterSeconds } : {}),
      ...(instance ? { instance } : {}),
      ...extensions,
    };
  }
}

/** Members of a problem body that extensions may not overwrite (RFC 9457 §3.1, plus `code` and `retryable`). */
export const RESERVED_MEMBERS: ReadonlySet<string> = new Set(['type', 'title', 'status', 'detail', 'instance', 'code', 'retryable', 'retry_after_seconds']);

export function isProblem(e: unknown): e is Problem {
  return e instanceof Problem;
}

/** A typed result for expected failures inside the core (no throwing across layers). */
export type Result<T, E = Problem> = { ok: true; value: T } | { ok: false; error: E };
export const ok = <T>(value: T): Result<T, never> => ({ ok: true, value });
export const err = <E>(error: E): Result<never, E> => ({ ok: false, error });
