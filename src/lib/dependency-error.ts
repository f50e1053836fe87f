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

export function isDependencyUnavailable(e: unknown): e is DependencyUnavailable {
  return e instanceof DependencyUnavailable;
}
