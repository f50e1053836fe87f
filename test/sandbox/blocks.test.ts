import { describe, expect, it } from 'vitest';
import { escapeHtml, mrkdwn, renderBlock, renderMessage } from '../../src/sandbox/public/blocks.js';
import { approvalCard } from '../../src/slack/blocks/approval-card';
import { escapeMrkdwn } from '../../src/slack/blocks/escape';

describe('mrkdwn → HTML', () => {
  it('escapes everything an agent wrote: no tag, attribute or entity survives as markup', () => {
    const agent = '<script>alert(1)</script> <img src=x onerror=alert(1)> "quoted" \'single\' & done';
    const html = mrkdwn(escapeMrkdwn(agent));
    expect(html).not.toMatch(/<script|<img/);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&quot;quoted&quot; &#39;single&#39; &amp; done');
  });

  it('renders bold, italic, strike, inline code and code blocks', () => {
    expect(mrkdwn('*Agent*\ndeploy-bot')).toBe('<b>Agent</b><br>deploy-bot');
    expect(mrkdwn('an _italic_ and ~gone~ word')).toBe('an <i>italic</i> and <s>gone</s> word');
    expect(mrkdwn('rule `allow-*` here')).toBe('rule <code>allow-*</code> here');
    expect(mrkdwn('*Parameters*\n```{\n  "a": "&lt;b&gt;"\n}```')).toBe('<b>Parameters</b><br><pre>{\n  &quot;a&quot;: &quot;&lt;b&gt;&quot;\n}</pre>');
  });

  it('does not format inside code', () => {
    expect(mrkdwn('`*not bold*`')).toBe('<code>*not bold*</code>');
    expect(mrkdwn('```<@U1> *x*```')).toBe('<pre>&lt;@U1&gt; *x*</pre>');
  });

  it('renders mentions with known names, dates with their fallback, and only safe links', () => {
    expect(mrkdwn('<@U0ALEX> approved', { users: { U0ALEX: 'alex' } })).toBe('<span class="mention" data-user="U0ALEX">@alex</span> approved');
    const date = mrkdwn('<!date^1700000000^{date_short_pretty} {time}|2023-11-14T22:13:20.000Z>');
    expect(date).toMatch(/^<time title="2023-11-14T22:13:20.000Z">Nov 1[45], 2023 \d\d:\d\d<\/time>$/);
    expect(mrkdwn('<https://example.com/a?b=1&amp;c=2|the docs>')).toBe('<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer" target="_blank">the docs</a>');
    expect(mrkdwn('<javascript:alert(1)|click>')).toBe('click');
    expect(mrkdwn('<!here> look')).toBe('<span class="mention">@here</span> look');
  });

  it('renders quotes: a `>` starting a line, never an escaped one', () => {
    expect(mrkdwn('*Why*\n>because\nnext')).toBe('<b>Why</b><br><blockquote>because</blockquote>next');
    expect(mrkdwn('&gt; not a quote')).toBe('&gt; not a quote');
  });

  it('turns the emoji the cards use into characters', () => {
    expect(mrkdwn(':white_check_mark: *Approved*')).toBe('✅ <b>Approved</b>');
    expect(mrkdwn(':unknown_emoji:')).toBe(':unknown_emoji:');
  });
});

describe('Block Kit → HTML', () => {
  it('renders a real approval card: header, fields, context and the two buttons with their ids and values', () => {
    const action = {
      id: 'act_1',
      actionClass: 'external_automation.workflow.create',
      payloadHash: 'f'.repeat(64),
      params: { name: '<b>x</b>' },
      context: { target_count: 3 },
      justification: 'because <@U0ALEX> said so',
      reasoning: 'state change',
      ruleId: 'escalate-automation-state-change',
      approverGroup: 'automation-ops',
      approvalsRequired: 1,
      onBehalfOf: null,
      expiresAt: null,
      policyVersion: 'v1',
    } as unknown as Parameters<typeof approvalCard>[0];
    const card = approvalCard(action, { name: 'deploy-bot', owner: 'platform' } as never);
    const html = renderMessage(card as never, { users: { U0ALEX: 'alex' } });
    expect(html).toMatch(/<div class="sk-header">[^<]*external_automation\.workflow\.create<\/div>/);
    expect(html).toContain('data-action-id="countersign_approve"');
    expect(html).toContain('data-action-id="countersign_deny"');
    expect(html).toMatch(/class="sk-button primary"[^>]*>Approve[^<]*<\/button>/);
    expect(html).not.toContain('<b>x</b>');
    // The agent's text was escaped by the card builder, so it shows as text, not as a mention.
    expect(html).toContain('&lt;@U0ALEX&gt;');
  });

  it('renders modal inputs with the ids a submission needs, and names unknown blocks', () => {
    const input = renderBlock({
      type: 'input',
      block_id: 'reason',
      label: { type: 'plain_text', text: 'Why?' },
      element: { type: 'plain_text_input', action_id: 'text', multiline: true, initial_value: '"hi"' },
    });
    expect(input).toContain('data-block-id="reason"');
    expect(input).toContain('data-action-id="text"');
    expect(input).toContain('&quot;hi&quot;</textarea>');
    expect(renderBlock({ type: 'video' })).toContain('[video block]');
    expect(escapeHtml('<&>"\'')).toBe('&lt;&amp;&gt;&quot;&#39;');
  });
});
