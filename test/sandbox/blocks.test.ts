import { describe, expect, it } from 'vitest';
import { escapeHtml, mrkdwn, renderBlock, renderMessage, validateInputs } from '../../src/sandbox/public/blocks.js';
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

  // What Slack's client shows for each, from Slack's formatting reference and its behaviour in the client:
  // markers must hug the text they format, and must not sit inside a word.
  it.each([
    ['*bold*', '<b>bold</b>'],
    ['This is *bold* text.', 'This is <b>bold</b> text.'],
    ['(*bold*), *bold*: *bold*!', '(<b>bold</b>), <b>bold</b>: <b>bold</b>!'],
    ['*a*', '<b>a</b>'],
    ['*bold* and *more*', '<b>bold</b> and <b>more</b>'],
    ['_italic_ and ~strike~', '<i>italic</i> and <s>strike</s>'],
    ['*_both_*', '<b><i>both</i></b>'],
  ])('formats %j as Slack does', (text, html) => {
    expect(mrkdwn(text)).toBe(html);
  });

  it.each([
    ['"0 3 * * *"', '&quot;0 3 * * *&quot;'],
    ['schedule: 0 3 * * *', 'schedule: 0 3 * * *'],
    ['2 * 3 * 4', '2 * 3 * 4'],
    ['a*b*c', 'a*b*c'],
    ['* not bold *', '* not bold *'],
    ['*not bold *', '*not bold *'],
    ['**', '**'],
    ['snake_case_name and my_var_', 'snake_case_name and my_var_'],
    ['~ wavy ~', '~ wavy ~'],
    ['*across\nlines*', '*across<br>lines*'],
  ])('leaves %j as typed', (text, html) => {
    expect(mrkdwn(text)).toBe(html);
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
      createdAt: new Date('2026-01-02T03:04:05Z'),
      policyVersion: 'v1',
    } as unknown as Parameters<typeof approvalCard>[0];
    const card = approvalCard(action, { name: 'deploy-bot', owner: 'platform' } as never);
    const html = renderMessage(card as never, { users: { U0ALEX: 'alex' } });
    expect(html).toMatch(/<div class="sk-header">[^<]*external_automation\.workflow\.create<\/div>/);
    expect(html).toContain('data-action-id="countersign_approve"');
    expect(html).toContain('data-action-id="countersign_deny"');
    expect(html).toMatch(/class="sk-button primary"[^>]*>Approve[^<]*<\/button>/);
    expect(html).not.toContain('<b>x</b>');
    // When it was requested, in the reader's time zone, with the exact time as the fallback.
    expect(html).toMatch(/<b>Requested<\/b><br><time title="2026-01-02T03:04:05.000Z">/);
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

describe("a modal's inputs checked as Slack's client checks them", () => {
  const view = {
    blocks: [
      { type: 'input', block_id: 'reason', label: { type: 'plain_text', text: 'Reason' }, element: { type: 'plain_text_input', action_id: 'r', min_length: 3 } },
      { type: 'input', block_id: 'note', optional: true, label: { type: 'plain_text', text: 'Note' }, element: { type: 'plain_text_input', action_id: 'n' } },
      { type: 'section', text: { type: 'mrkdwn', text: 'not an input' } },
    ],
  };
  it('an empty (or blank) required field gets an error on the field; an optional one does not', () => {
    expect(validateInputs(view, { reason: { r: '' }, note: { n: '' } })).toEqual({ reason: 'Please complete this required field.' });
    expect(validateInputs(view, { reason: { r: '   ' } })).toEqual({ reason: 'Please complete this required field.' });
    expect(validateInputs(view, {})).toEqual({ reason: 'Please complete this required field.' });
  });
  it('text shorter than min_length is refused; enough is accepted', () => {
    expect(validateInputs(view, { reason: { r: 'no' } })).toEqual({ reason: 'Please enter at least 3 characters.' });
    expect(validateInputs(view, { reason: { r: 'too risky' }, note: { n: '' } })).toEqual({});
  });
  it('renders the errors under their fields', () => {
    const html = renderBlock(view.blocks[0]!, { errors: { reason: 'Please complete this required field.' } });
    expect(html).toContain('<div class="sk-error">Please complete this required field.</div>');
  });
});
