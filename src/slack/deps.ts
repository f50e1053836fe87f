import type { Db } from '../db/client';
import type { FileConfig } from '../config/file-config';
import type { ApproverCheck } from '../approvals/decide';
import type { ApproverDirectory } from './approver-directory';
import type { PolicyBundle } from '../policy';
import type { RollbackOutcome } from '../rollback/file';

/** What Slack listeners may use. They call the core (`approvals`), never the queues directly. */
export type SlackDeps = {
  db: Db;
  config: FileConfig;
  directory: Pick<ApproverDirectory, 'isMember'>;
  /** Whether a Slack user may decide for a set of approver groups (member and human): `directory.standing`. */
  approverStanding: ApproverCheck;
  /** Wired by main.ts: update the card, and release the commit when approved. */
  afterDecision(actionId: string, kind: 'recorded' | 'approved' | 'denied'): void;
  /** Wired by main.ts: refresh the cards of actions the kill switch cancelled (`/countersign kill`). */
  afterCancel?(actionIds: string[]): void;
  /** The policy in force: an approver's edit is decided again (src/approvals/edit.ts). Without it edits are not taken. */
  policy?: { current(): PolicyBundle };
  /** Wired by main.ts: an edit was recorded; re-post the card when it now needs another group. */
  afterEdit?(actionId: string, how: { rerouted: boolean; previousCard: { channel: string; ts: string } | null }): void;
  /** Wired by main.ts: a grant ended (revoked on its card): refresh the card that gave it. */
  afterGrantEnded?(originActionId: string): void;
  /** Wired by main.ts: "Roll back" files the compensating action through the intake (src/rollback). */
  fileRollback?(actionId: string, userId: string): Promise<RollbackOutcome>;
};
