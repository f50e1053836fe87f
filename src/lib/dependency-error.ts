/** The backing services a request may wait on. */
export type Dependency = 'postgres' | 'redis';

/**
 * A request gave up waiting for a backing service within its wait budget (`COUNTERSIGN_DEPENDENCY_WAIT_MS`).
 * Thrown only where the work was not started (a query still queued in the driver, a transaction that never
 * began, a Redis command refused while disconnected), so the HTTP layer can say "nothing was recorded".
 */
export class DependencyUnavailable extends Error {
  readonly code = 'DEPENDENCY_UNAVAILABLE';
  constructor(
    readonly dependency: Dependency,
    detail: string,
  ) {
    super(detail);
    this.name = 'DependencyUnavailable';
  }
}

/** The DependencyUnavailable in `e` or its cause (drizzle wraps driver errors in a DrizzleQueryError), if any. */
export function dependencyUnavailableIn(e: unknown): DependencyUnavailable | null {
  if (e instanceof DependencyUnavailable) return e;
  const cause = (e as { cause?: unknown } | null)?.cause;
  return cause instanceof DependencyUnavailable ? cause : null;
}

export function isDependencyUnavailable(e: unknown): boolean {
  return dependencyUnavailableIn(e) !== null;
}
