// The release path: claim → re-check → take a release slot → call the executor → record (docs/release.md).
// src/queue/ runs it from BullMQ (commit-worker.ts); other features reach it through this file.
export { releaseCommit } from './release-commit';
export { recordOutcome } from './writer';
export { createReleaseGate, windowPadMs, type ReleaseGate } from './gate';
export { storedPolicyInput, type ReleaseControls } from './recheck';
export { DEFAULT_LEASE_GRACE_MS, MAX_INLINE_SLOT_WAIT_MS, type ReleaseDeps, type ReleaseHooks, type ReleaseOutcome, type Upcoming } from './types';
