import type { Db } from '../db/client';
import type { FileConfig } from '../config/file-config';
import type { ApproverDirectory } from './approver-directory';

/** What Slack listeners may use. They call the core (`approvals`), never the queues directly. */
export type SlackDeps = {
  db: Db;
  config: FileConfig;
  directory: Pick<ApproverDirectory, 'isMember'>;
  /** Wired by main.ts: update the card, and release the commit when approved. */
  afterDecision(actionId: string, kind: 'recorded' | 'approved' | 'denied'): void;
};
