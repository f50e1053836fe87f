import type { Db } from '../db/client';
import type { FileConfig } from '../config/file-config';
import type { Principal } from '../auth/agents';
import type { CredentialCache } from '../auth/credential-cache';
import type { PolicyBundle } from '../policy';
import type { ActionStatus } from '../approvals/status';
import type { RateLimiter } from '../controls/rate-limit';
import type { ReceiptSigner } from '../receipts';
import type { IntakeWriter } from './batch-writer';
import type { ShadowEvaluator } from '../policy-rollout/shadow';

/**
 * Who the agent says it acts for, as the workspace knows them (src/slack/approver-directory.ts). Without one
 * (no Slack configured) `on_behalf_of` is checked for its form only (docs/agent-controls.md).
 */
export type RequesterDirectory = {
  lookupUser(userId: string): Promise<'human' | 'not-human' | 'unknown'>;
  groupsOf(userId: string): Promise<string[]>;
  usergroupMembers?(usergroup: string): Promise<ReadonlySet<string>>;
};

export type IntakeDeps = {
  db: Db;
  policy: { current(): PolicyBundle };
  config: FileConfig;
  /** Per-agent request rate limit (Redis); without it requests are not rate limited. */
  rateLimiter?: RateLimiter;
  /** Called after the creating transaction commits; wired to the outbox relay and card poster. */
  afterCommit?: {
    actionApproved?(actionId: string): void;
    approvalRequested?(actionId: string): void;
    /** A standing grant approved a request: the card that gave the grant shows its count. */
    grantUsed?(originActionId: string): void;
  };
  /** Told once per created action, after its transaction committed (metrics). */
  onDecision?(decision: string, status: ActionStatus): void;
  /** Aborted when the server shuts down, so long polls return at once. */
  shutdown?: AbortSignal;
  /** Signs the receipt returned with every decision (src/receipts). */
  receipts?: ReceiptSigner;
  /**
   * The allow path's group-commit writer (src/intake/batch-writer.ts). Without it allowed actions take the
   * general path (transaction + outbox relay), as do allowed actions that draw on a budget.
   */
  writer?: IntakeWriter;
  /** The route's credential cache: told about tokens whose credentials turned out to have changed. */
  credentials?: CredentialCache;
  /** Checks `on_behalf_of` and answers the requester's approver groups. */
  directory?: RequesterDirectory;
  /** A candidate policy bundle deciding in shadow (docs/rollout.md); its decisions never count. */
  shadow?: ShadowEvaluator;
};

export type IntakeResponse = { status: number; body: Record<string, unknown>; replayed: boolean; headers?: Record<string, string> };

/** Said by one attempt when it must run again with credentials read from the database. */
export type Recheck = { recheck: 'cached' | 'changed' };

export type { Principal };
