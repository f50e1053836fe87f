import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVE_ACTION_ID, DENY_ACTION_ID, DENY_REASON_BLOCK, DENY_REASON_INPUT, DENY_VIEW_ID } from '../../src/slack/interaction-ids';
import type { Block } from '../../src/slack-emulator';
import { ALICE, AUTOMATION_OPS_CHANNEL, BOB, actionRequest, eventually } from '../support/harness';
import { SLACK_TEST_POLICY, startSlackHarness, waitForCard, waitForCardState, type SlackHarness } from '../support/slack';

let h: SlackHarness;
beforeAll(async () => {
  h = await startSlackHarness({ policy: SLACK_TEST_POLICY });
});
afterAll(async () => {
  await h?.close();
});

type TextObject = { type: 'mrkdwn' | 'plain_text'; text: string; verbatim?: boolean };

/** Every text object in the blocks, wherever it sits (section text and fields, context, header, buttons). */
function textObjects(blocks: Block[]): TextObject[] {
  const found: TextObject[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if ((o.type === 'mrkdwn' || o.type === 'plain_text') && typeof o.text === 'string') found.push(o as TextObject);
    else Object.values(o).forEach(walk);
  };
  walk(blocks);
  return found;
}

/**
 * What Slack would turn into a mention or a link in mrkdwn: `<!…>`, `<@…>`, `<#…>` and `<url|label>`.
 * The card's own `<!date^…>` timestamps are the only ones allowed.
 */
function controlSequences(text: string): string[] {
  return [...text.matchAll(/<[^>]*>/g)].map((m) => m[0]).filter((s) => !/^<!date\^\d+\^/.test(s));
}

const EVIL = {
  amp: 'R&D <b> tags & "quotes"',
  channel: '<!channel> approve this now',
  here: 'ping <!here> and <!everyone>',
  user: 'as <@U0ALICE> said, <@U0BOB|bob> agrees',
  link: 'see <https://evil.example/steal|Approve> for details',
  subteam: '<!subteam^S0ONCALL> <#C0AUTOOPS>',
  fence: '```\n*Approved* by security\n``` <!channel>',
  bareMention: '@channel @here https://evil.example/x',
};

describe('everything an agent writes is untrusted: the card that results', () => {
  it('escapes &, <, > and neutralises mentions, links and code-block breakouts', async () => {
    const created = await h.post(
      actionRequest({
        params: { name: EVIL.link, ...EVIL, nested: { deeper: [EVIL.fence, EVIL.user] }, target_count: 2 },
        justification: `${EVIL.channel}\n${EVIL.fence}\n:white_check_mark: *Approved* by <@U0ALICE>\n${EVIL.amp}`,
        context: { ticket: EVIL.link },
      }),
    );
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    const card = await waitForCard(h, id);
    const texts = textObjects(card.blocks!);
    const all = texts.map((t) => t.text).join('\n');

    // No mention, broadcast or link survives anywhere on the card, nor in the notification text.
    for (const t of texts) expect(controlSequences(t.text), t.text).toEqual([]);
    expect(controlSequences(card.text)).toEqual([]);
    // Escaped, so Slack shows them literally.
    expect(all).toContain('&lt;!channel&gt;');
    expect(all).toContain('&lt;!here&gt;');
    expect(all).toContain('&lt;!everyone&gt;');
    expect(all).toContain('&lt;@U0ALICE&gt;');
    expect(all).toContain('&lt;https://evil.example/steal|Approve&gt;');
    expect(all).toContain('R&amp;D &lt;b&gt; tags &amp;');
    expect(all).not.toMatch(/&(?!amp;|lt;|gt;)/);
    // No auto-linking or auto-mentions of bare @channel / URLs: every mrkdwn object is verbatim.
    for (const t of texts.filter((t) => t.type === 'mrkdwn')) expect(t.verbatim, t.text).toBe(true);
    // The code block opens and closes once: the agent's fences are broken by zero-width spaces.
    const params = texts.find((t) => t.text.startsWith('*Parameters*'))!.text;
    expect(params.match(/```(?!\u200b)/g)).toHaveLength(2);
    expect(params.trimEnd().endsWith('```')).toBe(true);
    // The justification is quoted line by line: a fake "*Approved*" stays inside the quote.
    const justification = texts.find((t) => t.text.startsWith('*Justification*'))!.text;
    for (const line of justification.split('\n').slice(1)) expect(line.startsWith('>')).toBe(true);
    // The reasoning template carried the agent's value: escaped there too.
    const why = texts.find((t) => t.text.startsWith('*Why this needs approval*'))!.text;
    expect(why).toContain('&lt;https://evil.example/steal|Approve&gt;');
    // Plain text (the header) cannot carry mentions at all.
    expect(texts.find((t) => t.type === 'plain_text')!.text).toBe('Approval needed: external_automation.workflow.create');

    // After the decision the card keeps the same guarantees.
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: APPROVE_ACTION_ID, user: BOB });
    const done = await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Approved'));
    for (const t of textObjects(done.blocks!)) {
      const allowed = controlSequences(t.text).filter((s) => s !== `<@${BOB}>`);
      expect(allowed, t.text).toEqual([]);
    }
    await eventually(async () => ((await h.get(`/v1/actions/${id}`)).body.status === 'committed' ? true : null), 15_000, 'committed');
    const reply = await eventually(async () => h.slack.thread(AUTOMATION_OPS_CHANNEL, card.ts).find((m) => m.ts !== card.ts), 10_000, 'thread reply');
    for (const t of textObjects(reply.blocks!)) expect(controlSequences(t.text)).toEqual([]);
  });

  it('a denial reason typed by a human is escaped on the card as well', async () => {
    const created = await h.post(actionRequest());
    const card = await waitForCard(h, created.body.id);
    await h.slack.clickButton({ channel: AUTOMATION_OPS_CHANNEL, ts: card.ts, actionId: DENY_ACTION_ID, user: ALICE });
    const modal = await h.slack.waitForView((v) => v.isOpen && v.callback_id === DENY_VIEW_ID && v.user === ALICE);
    await h.slack.submitView({ viewId: modal.id, user: ALICE, values: { [DENY_REASON_BLOCK]: { [DENY_REASON_INPUT]: 'nope <!channel> <https://x.example|click>' } } });
    const done = await waitForCardState(h, AUTOMATION_OPS_CHANNEL, card.ts, (t) => t.includes('Denied'));
    const all = textObjects(done.blocks!).map((t) => t.text).join('\n');
    expect(all).toContain('nope &lt;!channel&gt; &lt;https://x.example|click&gt;');
    expect(controlSequences(all).filter((s) => s !== `<@${ALICE}>`)).toEqual([]);
  });
});
