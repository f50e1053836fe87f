import { ErrorCode, type WebAPIPlatformError } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SlackEmulator } from '../../src/slack-emulator/index.ts';
import { button, section, startEmulator, webClient } from './fixtures.ts';

let emu: SlackEmulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.close();
});

async function postError(blocks: unknown): Promise<{ error: string; messages: string[] }> {
  const err = (await webClient(emu)
    .chat.postMessage({ channel: 'C0APPROVALS', text: 'fallback', blocks: blocks as never })
    .then(
      () => undefined,
      (e: unknown) => e,
    )) as WebAPIPlatformError | undefined;
  expect(err?.code).toBe(ErrorCode.PlatformError);
  return { error: String(err?.data.error), messages: (err?.data.response_metadata?.messages as string[] | undefined) ?? [] };
}

const x = (n: number) => 'x'.repeat(n);
const actions = (...elements: unknown[]) => ({ type: 'actions', elements });

describe('message Block Kit limits (invalid_blocks with the failing json-pointer)', () => {
  const cases: [string, unknown[], string, string][] = [
    ['more than 50 blocks', Array.from({ length: 51 }, () => ({ type: 'divider' })), '/blocks', 'no more than 50 items allowed'],
    ['section text over 3000', [section(x(3001))], '/blocks/0/text/text', 'must be less than 3001 characters'],
    ['more than 10 section fields', [{ type: 'section', fields: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'f' })) }], '/blocks/0/fields', 'no more than 10 items allowed'],
    ['a section field over 2000', [{ type: 'section', fields: [{ type: 'mrkdwn', text: x(2001) }] }], '/blocks/0/fields/0/text', 'must be less than 2001 characters'],
    ['header over 150', [{ type: 'header', text: { type: 'plain_text', text: x(151) } }], '/blocks/0/text/text', 'must be less than 151 characters'],
    ['header in mrkdwn', [{ type: 'header', text: { type: 'mrkdwn', text: 'h' } }], '/blocks/0/text/type', 'must be plain_text'],
    ['button text over 75', [actions(button('a', x(76)))], '/blocks/0/elements/0/text/text', 'must be less than 76 characters'],
    ['button value over 2000', [actions(button('a', 'ok', x(2001)))], '/blocks/0/elements/0/value', 'must be less than 2001 characters'],
    ['button url over 3000', [actions(button('a', 'ok', undefined, { url: `https://e.x/${x(3000)}` }))], '/blocks/0/elements/0/url', 'must be less than 3001 characters'],
    ['action_id over 255', [actions(button(x(256), 'ok'))], '/blocks/0/elements/0/action_id', 'must be less than 256 characters'],
    ['block_id over 255', [{ type: 'divider', block_id: x(256) }], '/blocks/0/block_id', 'must be less than 256 characters'],
    ['more than 25 actions elements', [actions(...Array.from({ length: 26 }, (_, i) => button(`a${i}`, 'b')))], '/blocks/0/elements', 'no more than 25 items allowed'],
    ['more than 10 context elements', [{ type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) }], '/blocks/0/elements', 'no more than 10 items allowed'],
    ['duplicate action_id in a block', [actions(button('same', 'a'), button('same', 'b'))], '/blocks/0/elements/1/action_id', 'already used'],
    ['duplicate block_id in a message', [{ type: 'divider', block_id: 'b1' }, { type: 'divider', block_id: 'b1' }], '/blocks/1/block_id', 'already used'],
    ['unknown block type', [{ type: 'carousel' }], '/blocks/0', 'failed to match all allowed schemas'],
    ['element not allowed in actions', [actions({ type: 'plain_text_input', action_id: 'i' })], '/blocks/0/elements/0', 'failed to match all allowed schemas'],
    ['text object without type', [{ type: 'section', text: { text: 'hi' } }], '/blocks/0/text', 'missing required field: type'],
    ['text object with a bad type', [{ type: 'section', text: { type: 'markdown', text: 'hi' } }], '/blocks/0/text/type', 'must be one of: plain_text, mrkdwn'],
    ['text object without text', [{ type: 'section', text: { type: 'mrkdwn' } }], '/blocks/0/text', 'missing required field: text'],
    ['empty text', [section('')], '/blocks/0/text/text', 'must be more than 0 characters'],
    ['section with neither text nor fields', [{ type: 'section' }], '/blocks/0', 'missing required field: text'],
    ['image without alt_text', [{ type: 'image', image_url: 'https://e.x/i.png' }], '/blocks/0', 'missing required field: alt_text'],
  ];

  it.each(cases)('%s', async (_name, blocks, pointer, problem) => {
    const { error, messages } = await postError(blocks);
    expect(error).toBe('invalid_blocks');
    const hit = messages.find((m) => m.endsWith(`[json-pointer:${pointer}]`));
    expect(hit, messages.join('\n')).toBeDefined();
    expect(hit).toContain('[ERROR]');
    expect(hit).toContain(problem);
  });

  it('accepts exactly the limits', async () => {
    const blocks = [
      section(x(3000)),
      { type: 'header', text: { type: 'plain_text', text: x(150) } },
      actions(...Array.from({ length: 25 }, (_, i) => button(`a${i}`, i === 0 ? x(75) : 'b', i === 0 ? x(2000) : undefined))),
      ...Array.from({ length: 47 }, () => ({ type: 'divider' })),
    ];
    const res = await webClient(emu).chat.postMessage({ channel: 'C0APPROVALS', text: 'ok', blocks });
    expect(res.ok).toBe(true);
  });

  it('msg_blocks_too_long when all text passes ~12,000 characters', async () => {
    const { error } = await postError(Array.from({ length: 5 }, () => section(x(2500))));
    expect(error).toBe('msg_blocks_too_long');
  });

  it('invalid_blocks_format when blocks is not a JSON array', async () => {
    expect((await postError('not json')).error).toBe('invalid_blocks_format');
    expect((await postError({ type: 'divider' })).error).toBe('invalid_blocks_format');
  });

  it('applies the same checks to chat.update', async () => {
    const client = webClient(emu);
    const posted = await client.chat.postMessage({ channel: 'C0APPROVALS', text: 'ok', blocks: [section('ok')] });
    const err = (await client.chat.update({ channel: 'C0APPROVALS', ts: posted.ts as string, text: 't', blocks: [section(x(3001))] }).catch((e: unknown) => e)) as WebAPIPlatformError;
    expect(err.data.error).toBe('invalid_blocks');
    expect(emu.message('C0APPROVALS', posted.ts as string)?.history).toHaveLength(1);
  });
});

describe('modal limits (views.open answers invalid_arguments)', () => {
  const modal = (extra: Record<string, unknown> = {}) => ({
    type: 'modal',
    title: { type: 'plain_text', text: 'Approve' },
    blocks: [section('Details')],
    ...extra,
  });
  const cases: [string, Record<string, unknown>, string][] = [
    ['title over 24', modal({ title: { type: 'plain_text', text: x(25) } }), '/view/title/text'],
    ['submit over 24', modal({ submit: { type: 'plain_text', text: x(25) } }), '/view/submit/text'],
    ['close over 24', modal({ close: { type: 'plain_text', text: x(25) } }), '/view/close/text'],
    ['private_metadata over 3000', modal({ private_metadata: x(3001) }), '/view/private_metadata'],
    ['more than 100 blocks', modal({ blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })) }), '/view/blocks'],
    ['callback_id over 255', modal({ callback_id: x(256) }), '/view/callback_id'],
    ['input blocks without submit', modal({ blocks: [{ type: 'input', label: { type: 'plain_text', text: 'Why' }, element: { type: 'plain_text_input', action_id: 'why' } }] }), '/view'],
    ['section text in a modal block', modal({ blocks: [section(x(3001))] }), '/view/blocks/0/text/text'],
  ];

  it.each(cases)('%s', async (_name, view, pointer) => {
    const trigger_id = emu.issueTriggerId('U0ALICE0001');
    const err = (await webClient(emu).views.open({ trigger_id, view: view as never }).catch((e: unknown) => e)) as WebAPIPlatformError;
    expect(err.data.error).toBe('invalid_arguments');
    const messages = (err.data.response_metadata?.messages ?? []) as string[];
    expect(messages.some((m) => m.endsWith(`[json-pointer:${pointer}]`)), messages.join('\n')).toBe(true);
  });

  it('opens a modal of exactly 100 blocks', async () => {
    const trigger_id = emu.issueTriggerId('U0ALICE0001');
    const res = await webClient(emu).views.open({ trigger_id, view: modal({ blocks: Array.from({ length: 100 }, () => ({ type: 'divider' })) }) as never });
    expect(res.view?.id).toMatch(/^V/);
  });
});
