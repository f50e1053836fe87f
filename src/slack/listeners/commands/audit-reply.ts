import type { DbOrTx } from '../../../db/client';
import { findAgentByName } from '../../../auth/agents';
import { actionEvents, countEvents, queryEvents, type AuditFilter } from '../../../audit/query';
import { toEventView, type AuditEventView } from '../../../audit/event-view';
import { describeEvent } from '../../../audit/timeline';
import { parseMoment } from '../../../audit/time-range';
import { redact } from '../../../audit/redact';
import { clip, escapeMrkdwn, truncate } from '../../blocks/escape';

/** Events shown in one /audit reply; more than this and the reply says how many and points to the export. */
export const AUDIT_REPLY_LIMIT = 30;

export type AuditCommand =
  | { kind: 'help' }
  | { kind: 'action'; id: string }
  | { kind: 'corr'; id: string }
  | { kind: 'agent'; name: string; since: string }
  | { kind: 'recent' }
  | { kind: 'invalid'; message: string };

export const AUDIT_HELP = [
  '*/audit* — read the evidence trail (auditors only; replies are visible to you alone)',
  '• `/audit ACTION_ID` — the full chain of one action: who asked, what policy decided and why, who approved, what ran, what came back',
  '• `/audit corr CORRELATION_ID` — every event sharing a correlation id',
  '• `/audit agent NAME [since 24h]` — what an agent did recently (since: 90m, 24h, 7d, or an ISO time)',
  '• `/audit recent` — the latest events',
  '• `/audit help` — this help',
  'For more than a screenful use `countersign audit export` (JSONL/CSV) or `GET /v1/audit`.',
].join('\n');

const TOKEN = /^[\x21-\x7e]{1,255}$/;

export function parseAuditCommand(text: string): AuditCommand {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const [first, ...rest] = words;
  if (!first || first === 'help') return { kind: 'help' };
  if (first === 'recent') return { kind: 'recent' };
  if (first === 'corr' || first === 'correlation') {
    return rest[0] && TOKEN.test(rest[0]) ? { kind: 'corr', id: rest[0] } : { kind: 'invalid', message: 'usage: `/audit corr CORRELATION_ID`' };
  }
  if (first === 'agent') {
    const [name, kw, since] = rest;
    if (!name) return { kind: 'invalid', message: 'usage: `/audit agent NAME [since 24h]`' };
    if (kw === undefined) return { kind: 'agent', name, since: '24h' };
    if (kw !== 'since' || !since || !parseMoment(since)) return { kind: 'invalid', message: 'usage: `/audit agent NAME [since 24h]` (since: 90m, 24h, 7d or an ISO time)' };
    return { kind: 'agent', name, since };
  }
  if (words.length === 1 && TOKEN.test(first)) return { kind: 'action', id: first };
  return { kind: 'invalid', message: `I did not understand \`${truncate(text.trim(), 100)}\`. Try \`/audit help\`.` };
}

export type AuditReply = { text: string; blocks: Record<string, unknown>[]; shown: number; total: number };

function eventLine(e: AuditEventView): string {
  const at = Math.floor(new Date(e.created_at).getTime() / 1000);
  const who = e.actor.startsWith('slack:') ? `<@${e.actor.slice(6)}>` : `\`${escapeMrkdwn(e.actor)}\``;
  // Stored data is redacted already; redacting again applies keys added to the config since.
  const what = clip(escapeMrkdwn(describeEvent({ ...e, data: redact(e.data) as Record<string, unknown> })), 400);
  return `<!date^${at}^{date_short_pretty} {time_secs}|${e.created_at}> *${escapeMrkdwn(e.type)}* ${who} — ${what}`;
}

function sections(lines: string[]): Record<string, unknown>[] {
  const blocks: Record<string, unknown>[] = [];
  let current = '';
  for (const line of lines) {
    if (current && current.length + line.length + 1 > 2900) {
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: current } });
      current = '';
    }
    current = current ? `${current}\n${line}` : line;
  }
  if (current) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: current } });
  return blocks;
}

function reply(title: string, events: AuditEventView[], total: number, more: string): AuditReply {
  const blocks: Record<string, unknown>[] = [{ type: 'section', text: { type: 'mrkdwn', text: truncate(title, 2900) } }];
  if (events.length === 0) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: '_No events._' } });
  else blocks.push(...sections(events.map(eventLine)));
  if (total > events.length) {
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(`Showing ${events.length} of ${total} events. ${more}`, 2900) }] });
  }
  return { text: `${title.replace(/[*`]/g, '')} (${total} events)`, blocks, shown: events.length, total };
}

/** Answers one /audit command from the evidence stream (read-only). */
export async function buildAuditReply(db: DbOrTx, cmd: AuditCommand, now = new Date()): Promise<AuditReply> {
  const text = (t: string): AuditReply => ({ text: t.replace(/[*`]/g, ''), blocks: [{ type: 'section', text: { type: 'mrkdwn', text: t } }], shown: 0, total: 0 });
  switch (cmd.kind) {
    case 'help':
      return text(AUDIT_HELP);
    case 'invalid':
      return text(cmd.message);
    case 'action': {
      const all = await actionEvents(db, cmd.id);
      const events = all.slice(0, AUDIT_REPLY_LIMIT).map(toEventView);
      const id = escapeMrkdwn(cmd.id);
      if (all.length === 0) return text(`No events for action \`${id}\`.`);
      return reply(`*Action* \`${id}\` — ${all.length} events`, events, all.length, `Full chain: \`countersign audit show ${id}\`.`);
    }
    case 'corr': {
      const filter: AuditFilter = { correlation_id: cmd.id };
      const [page, total] = await Promise.all([queryEvents(db, filter, { limit: AUDIT_REPLY_LIMIT }), countEvents(db, filter)]);
      const id = escapeMrkdwn(cmd.id);
      return reply(`*Correlation* \`${id}\` — ${total} events`, page.events.map(toEventView), total, `Everything: \`GET /v1/audit?correlation_id=${id}\`.`);
    }
    case 'agent': {
      const agent = await findAgentByName(db, cmd.name);
      if (!agent) return text(`No agent named \`${escapeMrkdwn(cmd.name)}\`.`);
      const since = parseMoment(cmd.since, now)!;
      const filter: AuditFilter = { agent_id: agent.id, since };
      const [page, total] = await Promise.all([queryEvents(db, filter, { limit: AUDIT_REPLY_LIMIT, order: 'desc' }), countEvents(db, filter)]);
      const name = escapeMrkdwn(agent.name);
      return reply(
        `*Agent* \`${name}\` since ${since.toISOString()} — ${total} events (newest first)`,
        page.events.map(toEventView),
        total,
        `Export them all: \`countersign audit export --since ${escapeMrkdwn(cmd.since)} --agent ${name} --format jsonl\`.`,
      );
    }
    case 'recent': {
      const page = await queryEvents(db, {}, { limit: AUDIT_REPLY_LIMIT, order: 'desc' });
      return reply('*Latest events* (newest first)', page.events.map(toEventView), page.events.length, '');
    }
  }
}
