import { and, eq, isNull } from 'drizzle-orm';
import type { WebClient } from '@slack/web-api';
import type { Db } from '../db/client';
import { actions, agents, type ActionRow } from '../db/schema';
import type { FileConfig } from '../config/file-config';
import type { CardJob } from '../queue/card-queue';
import { appendEvents } from '../audit/append';
import { listApprovals } from '../approvals/decide';
import { approvalCard, decidedCard, outcomeReply, type CardAgent } from './blocks/approval-card';

/**
 * Carries core events to Slack: the approval card, its updates, and the commit outcome in its thread.
 * Called by the card queue's worker, so every failure is retried with backoff and nothing is lost.
 */
export function createSlackNotifier(deps: { db: Db; client: WebClient; config: FileConfig }) {
  const { db, client, config } = deps;

  async function load(actionId: string): Promise<{ action: ActionRow; agent: CardAgent } | null> {
    const [row] = await db
      .select({ action: actions, agent: { name: agents.name, owner: agents.owner } })
      .from(actions)
      .innerJoin(agents, eq(agents.id, actions.agentId))
      .where(eq(actions.id, actionId))
      .limit(1);
    return row ?? null;
  }

  async function postCard(action: ActionRow, agent: CardAgent): Promise<void> {
    if (action.slackTs) return; // already posted
    const group = action.approverGroup ? config.approver_groups[action.approverGroup] : undefined;
    if (!group) throw new Error(`approver group ${action.approverGroup} is not configured`);
    const approvals = await listApprovals(db, action.id);
    const message =
      action.status === 'pending_approval'
        ? approvalCard(action, agent, approvals.filter((a) => a.verdict === 'approve').length)
        : decidedCard(action, agent, approvals);
    const res = await client.chat.postMessage({ channel: group.channel, text: message.text, blocks: message.blocks as never, unfurl_links: false, unfurl_media: false });
    await db.transaction(async (tx) => {
      const [updated] = await tx
        .update(actions)
        .set({ slackChannel: res.channel!, slackTs: res.ts! })
        .where(and(eq(actions.id, action.id), isNull(actions.slackTs)))
        .returning({ id: actions.id });
      if (updated) {
        await appendEvents(tx, [
          { type: 'approval.card_posted', actor: 'system', actionId: action.id, correlationId: action.correlationId, agentId: action.agentId, policyVersion: action.policyVersion, data: { channel: res.channel, ts: res.ts, group: action.approverGroup } },
        ]);
      }
    });
  }

  async function updateCard(action: ActionRow, agent: CardAgent): Promise<void> {
    if (!action.slackTs || !action.slackChannel) {
      // The card was never posted; posting it now shows the current state.
      return postCard(action, agent);
    }
    const approvals = await listApprovals(db, action.id);
    const message =
      action.status === 'pending_approval'
        ? approvalCard(action, agent, approvals.filter((a) => a.verdict === 'approve').length)
        : decidedCard(action, agent, approvals);
    await client.chat.update({ channel: action.slackChannel, ts: action.slackTs, text: message.text, blocks: message.blocks as never });
  }

  async function postOutcome(action: ActionRow): Promise<void> {
    if (!action.slackTs || !action.slackChannel) return; // allowed by policy: no card, no thread
    const message = outcomeReply(action);
    await client.chat.postMessage({ channel: action.slackChannel, thread_ts: action.slackTs, text: message.text, blocks: message.blocks as never });
  }

  return {
    async handle(job: CardJob): Promise<void> {
      const loaded = await load(job.action_id);
      if (!loaded) return;
      if (job.kind === 'post') return postCard(loaded.action, loaded.agent);
      if (job.kind === 'update') return updateCard(loaded.action, loaded.agent);
      return postOutcome(loaded.action);
    },
  };
}

export type SlackNotifier = ReturnType<typeof createSlackNotifier>;
