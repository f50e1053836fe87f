import type { Db } from '../db/client';
import type { FileConfig } from '../config/file-config';
import type { ExecutorOutcome } from '../executor/client';
import type { PolicyBundle } from '../policy';
import type { ReleaseGate } from './gate';
import type { ReleaseControls } from './recheck';

/**
 * The release path's shared types and limits, in one file that imports nothing of the release path but its two
 * leaves (gate.ts, recheck.ts): every other file of src/release/ imports them from here, so none imports another
 * for its types (they used to form the tree's only import cycle, in src/queue/).
 */

/** Longest a claimed release waits in the worker for a rate-limit slot before it gives the claim back. */
export const MAX_INLINE_SLOT_WAIT_MS = 2_000;
export const DEFAULT_LEASE_GRACE_MS = 30_000;

export type ReleaseDeps = {
  db: Db;
  config: FileConfig;
  policy: { current(): PolicyBundle };
  /** Tells people about the outcome (Slack thread); fire-and-forget, retried by its own queue. */
  announce?(actionId: string): void;
  /** Posts a fresh approval card for an action sent back to `pending_approval`. */
  requestApproval?(actionId: string): void;
  /** The executor's release rate limit (gate.ts); resolves to a delay in ms when over the limit. */
  releaseGate?: ReleaseGate;
  /** Budgets and kill switch owned by other features, asked again at release. */
  controls?: ReleaseControls;
  /** How long a claim outlives the executor timeout before another worker may take the action over. */
  leaseGraceMs?: number;
  /** Told about every executor call (metrics: results and latency). */
  onExecutorCall?(executor: string, outcome: ExecutorOutcome): void;
  /**
   * The ids of the commits next in line (the commit queue's waiting jobs, oldest first): their rows are read
   * ahead in one statement, so most claims need no read of their own (read-ahead.ts). main.ts sets it.
   */
  upcoming?: Upcoming;
  /** Told where each claim's row was read: ahead with the next jobs in line, or by the claim itself (metrics). */
  onClaimRead?(read: 'ahead' | 'own'): void;
  /** Told when a claim takes over an executing action whose lease ran out (metrics). */
  onLeaseTakeover?(executor: string): void;
};

/** The ids of the commits next in line (the queue's waiting jobs, oldest first), at most `count`. */
export type Upcoming = (count: number) => Promise<string[]>;

export type ReleaseHooks = {
  /** The executor has answered; its outcome is about to be recorded. */
  called?(outcome: ExecutorOutcome): void;
};

export type ReleaseOutcome =
  | { kind: 'committed' | 'failed' | 'refused' | 'cancelled' | 'sent_back' | 'plan_drift' }
  | { kind: 'skipped'; reason: string }
  | { kind: 'retry'; reason: string; attempts: number }
  /** Over the executor's release rate: look again after `delayMs`, without using an attempt. */
  | { kind: 'throttled'; delayMs: number }
  /** Another worker holds a live lease: look again when it runs out (that worker may have died). */
  | { kind: 'leased'; delayMs: number };
