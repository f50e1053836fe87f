import type { Db } from '../db/client';
import type { FileConfig } from '../config/file-config';
import type { ApproverCheck } from '../approvals/decide';
import type { ApproverDirectory } from './approver-directory';

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
};
