import { and, eq, isNull } from 'drizzle-orm';
import type { WebClient } from '@slack/web-api';
import type { Db } from '../db/client';
import { actions, agents, type ActionRow, type ApprovalRow } from '../db/schema';
import type { FileConfig } from '../config/file-config';
import type { CardJob } from '../queue/card-queue';
import { appendEvents } from '../audit/append';
import { listApprovals } from '../approvals/decide';
import { storedEscalation } from '../approvals/escalation';
import { logger } from '../lib/logger';
import { currentCard, outcomeReply, type CardAgent, type CardMessage } from './blocks/approval-card';
import type { StandingGrantRow } from '../db/schema';
import { grantOfOrigin } from '../grants/store';
import { compensationFor } from '../contracts/compensation';

type Loaded = { action: ActionRow; agent: CardAgent; decisions: ApprovalRow[]; grant: StandingGrantRow | null };

/** What a card shows: when this changes between render and write, the card is written again. */
function fingerprint({ action, decisions, grant }: Loaded): string {
  return [
    action.status,
    action.payloadHash,
    action.escalatedAt?.getTime() ?? '',
    decisions.map((d) => d.id).join(','),
    grant ? `${grant.status}:${grant.usedCount}` : '',
  ].join('|');
}

/**
 * Carries core events to Slack: the approval card, its updates (both copies once escalated), the
 * escalation re-post, and the commit outcome in its thread. Called by the card queue's worker, so every
 * failure is retried with backoff and nothing is lost; while a card cannot be posted the action simply
 * stays pending (nothing is ever approved by default).
 */
export function createSlackNotifier(deps: { db: Db; client: WebClient; config: FileConfig }) {
  const { db, client, config } = deps;

  async function load(actionId: string): Promise<Loaded | null> {
    const [row] = await db
      .select({ action: actions, agent: { name: agents.name, owner: agents.owner } })
      .from(actions)
      .innerJoin(agents, eq(agents.id, actions.agentId))
      .where(eq(actions.id, actionId))
      .limit(1);
    if (!row) return null;
    // The card shows the answers to the payload it shows (an edit starts the count again).
    const decisions = (await listApprovals(db, actionId)).filter((d) => d.payloadHash === row.action.payloadHash);
    return { ...row, decisions, grant: await grantOfOrigin(db, actionId) };
  }

  function channelOf(group: string | null | undefined): string {
    const g = group ? config.approver_groups[group] : undefined;
    if (!g) throw new Error(`approver group ${group ?? '(none)'} is not configured`);
    return g.channel;
  }

  async function post(channel: string, message: CardMessage) {
    const res = await client.chat.postMessage({ channel, text: message.text, blocks: message.blocks as never, unfurl_links: false, unfurl_media: false });
    return { channel: res.channel!, ts: res.ts! };
  }

  async function postCard(l: Loaded): Promise<void> {
    const { action } = l;
    if (action.slackTs) return; // already posted
    const where = await post(channelOf(action.approverGroup), currentCard(action, l.agent, l.decisions, { grant: l.grant }));
    await db.transaction(async (tx) => {
      const [updated] = await tx
        .update(actions)
        .set({ slackChannel: where.channel, slackTs: where.ts })
        .where(and(eq(actions.id, action.id), isNull(actions.slackTs)))
        .returning({ id: actions.id });
      if (updated) {
        await appendEvents(tx, [
          { type: 'approval.card_posted', actor: 'system', actionId: action.id, correlationId: action.correlationId, agentId: action.agentId, policyVersion: action.policyVersion, data: { ...where, group: action.approverGroup } },
        ]);
      }
    });
    // Decided while the post was in flight: show the decision, not buttons.
    await converge(action.id, fingerprint(l));
  }

  /** Re-posts a pending card to the `escalate_to` group's channel, once (the stored ts is the guard). */
  async function postEscalation(l: Loaded): Promise<void> {
    const { action } = l;
    const to = storedEscalation(action).escalateTo;
    if (!action.escalatedAt || !to || action.escalationSlackTs || action.status !== 'pending_approval') return;
    if (!config.approver_groups[to.via]) {
      logger.error({ action: action.id, group: to.via }, 'escalation group is not configured; the request was not re-posted');
      return;
    }
    const where = await post(channelOf(to.via), currentCard(action, l.agent, l.decisions, { escalationCopy: true, grant: l.grant }));
    await db.transaction(async (tx) => {
      const [updated] = await tx
        .update(actions)
        .set({ escalationSlackChannel: where.channel, escalationSlackTs: where.ts })
        .where(and(eq(actions.id, action.id), isNull(actions.escalationSlackTs)))
        .returning({ id: actions.id });
      if (updated) {
        await appendEvents(tx, [
          { type: 'approval.card_posted', actor: 'system', actionId: action.id, correlationId: action.correlationId, agentId: action.agentId, policyVersion: action.policyVersion, data: { ...where, group: to.via, escalation: true } },
        ]);
      }
    });
    await converge(action.id, fingerprint(l));
  }

  async function writeCards(l: Loaded): Promise<void> {
    const { action } = l;
    if (!action.slackTs || !action.slackChannel) {
      // The card was never posted; posting it now shows the current state.
      await postCard(l);
      return;
    }
    const primary = currentCard(action, l.agent, l.decisions, { grant: l.grant });
    await client.chat.update({ channel: action.slackChannel, ts: action.slackTs, text: primary.text, blocks: primary.blocks as never });
    if (action.escalationSlackChannel && action.escalationSlackTs) {
      const copy = currentCard(action, l.agent, l.decisions, { escalationCopy: true, grant: l.grant });
      await client.chat.update({ channel: action.escalationSlackChannel, ts: action.escalationSlackTs, text: copy.text, blocks: copy.blocks as never });
    }
  }

  /**
   * Card jobs run concurrently, so an update rendered from an older state could land last. After writing,
   * re-read: if the action moved on since `written`, write again, until the card shows the latest state.
   */
  async function converge(actionId: string, written: string): Promise<void> {
    let last = written;
    for (let i = 0; i < 5; i++) {
      const now = await load(actionId);
      if (!now || fingerprint(now) === last) return;
      await writeCards(now);
      last = fingerprint(now);
    }
  }

  async function updateCard(l: Loaded): Promise<void> {
    await writeCards(l);
    await converge(l.action.id, fingerprint(l));
  }

  async function postOutcome(action: ActionRow): Promise<void> {
    if (!action.slackTs || !action.slackChannel) return; // allowed by policy: no card, no thread
    const message = outcomeReply(action, { rollback: compensationFor(config, action.executor, action.actionClass) !== null });
    await client.chat.postMessage({ channel: action.slackChannel, thread_ts: action.slackTs, text: message.text, blocks: message.blocks as never });
  }

  return {
    async handle(job: CardJob): Promise<void> {
      const loaded = await load(job.action_id);
      if (!loaded) return;
      if (job.kind === 'post') return postCard(loaded);
      if (job.kind === 'update') return updateCard(loaded);
      if (job.kind === 'escalate') return postEscalation(loaded);
      return postOutcome(loaded.action);
    },
  };
}

export type SlackNotifier = ReturnType<typeof createSlackNotifier>;
