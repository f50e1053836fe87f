import { describe, expect, it } from 'vitest';
import type { ActionRow, ApprovalRow } from '../../src/db/schema';
import { approvalCard, decidedCard, outcomeReply } from '../../src/slack/blocks/approval-card';
import { clip, codeBlock, escapeCodeBlock, quote } from '../../src/slack/blocks/escape';
import { confirmHashModal, denyReasonModal, fullPayloadModal } from '../../src/slack/blocks/modals';
import { shortenForCard, splitEscaped } from '../../src/slack/blocks/payload';
import { validateMessageBlocks, validateView } from '../../src/slack-emulator';

function action(overrides: Partial<ActionRow> = {}): ActionRow {
  const now = new Date('2026-11-25T12:00:00Z');
  return {
    id: 'act_test',
    agentId: 'agt_test',
    actionClass: 'external_automation.workflow.create',
    params: { name: 'n', target_count: 3 },
    context: {},
    executor: 'automation',
    dryRun: false,
    idempotencyKey: 'k',
    requestHash: 'r',
    correlationId: 'c',
    justification: 'why',
    onBehalfOf: null,
    payloadHash: 'ab'.repeat(32),
    status: 'pending_approval',
    decision: 'escalate',
    ruleId: 'rule',
    reasoning: 'because',
    policyVersion: 'v1',
    escalation: { via: 'ops', approvals: 1, high_risk: false, escalate_to: null },
    approverGroup: 'ops',
    approvalsRequired: 1,
    expiresAt: new Date(now.getTime() + 3600_000),
    approvedAt: null,
    approvedPayloadHash: null,
    preview: null,
    result: null,
    failure: null,
    attempts: 0,
    leaseExpiresAt: null,
    responseStatus: 201,
    responseBody: {},
    slackChannel: null,
    slackTs: null,
    escalatedAt: null,
    escalationSlackChannel: null,
    escalationSlackTs: null,
    createdAt: now,
    updatedAt: now,
    finishedAt: null,
    ...overrides,
  } as ActionRow;
}

const agent = { name: 'deploy-bot', owner: 'platform' };
const approval = (i: number, reason: string | null = null): ApprovalRow => ({
  id: `apr_${i}`,
  actionId: 'act_test',
  approver: `slack:U0APPROVER${i}`,
  grantId: null,
  grantRequest: null,
  verdict: reason ? 'deny' : 'approve',
  reason,
  payloadHash: 'ab'.repeat(32),
  createdAt: new Date('2026-11-25T12:01:00Z'),
});

/** The worst an agent can send (intake limits: justification 4,000 characters, 256 kB body). */
function worstCase(overrides: Partial<ActionRow> = {}): ActionRow {
  const amp = '&'.repeat(4000);
  const params: Record<string, unknown> = {};
  for (let i = 0; i < 40; i++) params[`k${'&'.repeat(90)}${i}`] = '<'.repeat(5000);
  return action({
    justification: amp,
    params,
    context: { target_count: 3, blob: '>'.repeat(100_000) },
    reasoning: `<!channel> ${'&'.repeat(3000)}`,
    preview: { diff: '`'.repeat(20_000), lines: Array.from({ length: 500 }, (_, i) => `line ${i} <&>`) },
    onBehalfOf: '&'.repeat(64),
    approvalsRequired: 10,
    escalation: { via: 'ops', approvals: 10, high_risk: true, escalate_to: { via: 'on-call', after_seconds: 60 } },
    escalatedAt: new Date(),
    ...overrides,
  });
}

describe('approval card within Slack limits', () => {
  it('a worst-case card passes the emulator’s Block Kit checks (50 blocks, 3,000 per section, ~12k total)', () => {
    const decisions = Array.from({ length: 9 }, (_, i) => approval(i));
    for (const message of [
      approvalCard(worstCase(), agent, decisions),
      approvalCard(worstCase(), agent, decisions, { escalationCopy: true }),
      decidedCard(worstCase({ status: 'denied' }), agent, [...decisions, approval(99, '<!here> '.repeat(200))]),
      decidedCard(worstCase({ status: 'expired' }), agent, decisions),
    ]) {
      const checked = validateMessageBlocks(message.blocks);
      expect(checked, JSON.stringify(checked).slice(0, 500)).toMatchObject({ ok: true });
      expect(message.text.length).toBeLessThan(4000);
    }
  });

  it('offers "View full payload" only when something was cut', () => {
    const small = approvalCard(action(), agent);
    expect(JSON.stringify(small.blocks)).not.toContain('countersign_view_payload');
    const big = approvalCard(action({ params: { script: 'x'.repeat(500) } }), agent);
    expect(JSON.stringify(big.blocks)).toContain('countersign_view_payload');
    const deep = approvalCard(action({ params: { a: { b: { c: { d: { e: { f: 1 } } } } } } }), agent);
    expect(JSON.stringify(deep.blocks)).toContain('countersign_view_payload');
    const withPreview = approvalCard(action({ preview: { diff: 'y'.repeat(2000) } }), agent);
    expect(JSON.stringify(withPreview.blocks)).toContain('Dry-run preview');
    expect(JSON.stringify(withPreview.blocks)).toContain('countersign_view_payload');
  });

  it('shows the payload hash, expiry, blast radius, rule and risk; the high-risk button opens the confirmation', () => {
    const text = JSON.stringify(approvalCard(action({ escalation: { via: 'ops', high_risk: true } }), agent).blocks);
    expect(text).toContain('abababababababab');
    expect(text).toContain('<!date^');
    expect(text).toContain('3 targets');
    expect(text).toContain('rule `rule`');
    expect(text).toContain('HIGH RISK: external_automation.workflow.create');
    expect(text).toContain('countersign_approve_confirm');
    expect(text).not.toContain('"countersign_approve"');
  });

  it('the thread reply for a committed action escapes the executor result', () => {
    const reply = outcomeReply(action({ status: 'committed', attempts: 1, result: { note: '<!channel> ```x```' } }));
    const text = JSON.stringify(reply.blocks);
    expect(text).not.toContain('<!channel>');
    expect(validateMessageBlocks(reply.blocks)).toMatchObject({ ok: true });
  });
});

describe('modals within Slack limits', () => {
  it('the full payload is split across sections (≤ 3,000 each) and capped below 100 blocks', () => {
    const view = fullPayloadModal(worstCase());
    expect(validateView(view)).toMatchObject({ ok: true });
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    expect(JSON.stringify(view.blocks)).toContain('Too long to show');
  });

  it('a payload that fits is shown whole, and the pieces join back to it', () => {
    const value = 'line &<>`\n'.repeat(2000);
    const view = fullPayloadModal(action({ params: { value } }));
    expect(validateView(view)).toMatchObject({ ok: true });
    const code = (view.blocks as { text?: { text: string } }[])
      .map((b) => b.text?.text ?? '')
      .filter((t) => t.startsWith('```'))
      .map((t) => t.slice(3, -3));
    expect(code.join('')).toContain(escapeCodeBlock(JSON.stringify(value)));
  });

  it('deny and confirmation modals are valid views and carry what the submission needs', () => {
    const meta = { action_id: 'act_test', payload_hash: 'ab'.repeat(32), channel: 'C0OPS', message_ts: '1.2' };
    for (const view of [denyReasonModal(meta), confirmHashModal(meta)]) {
      expect(validateView(view)).toMatchObject({ ok: true });
      expect(JSON.parse(view.private_metadata as string)).toEqual(meta);
    }
    expect(JSON.stringify(confirmHashModal(meta).blocks)).not.toContain('abababab');
  });
});

describe('escaping helpers', () => {
  it('never cuts an escape sequence or leaves a bare backtick at a cut', () => {
    for (let max = 2; max < 30; max++) {
      const cut = clip(escapeCodeBlock('&<>`'.repeat(10)), max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut).not.toMatch(/&[a-z]{0,3}…$/);
      expect(cut).not.toMatch(/`…$/);
    }
    for (const piece of splitEscaped('&<>`x\n'.repeat(500), 100, escapeCodeBlock)) {
      expect(piece.length).toBeLessThanOrEqual(100);
      expect(piece).not.toMatch(/&[a-z]{0,3}$/);
      expect(piece).not.toMatch(/^[a-z]{1,3};/);
    }
  });

  it('quotes every line and fences code once', () => {
    expect(quote('a\n*Approved*\n<!here>', 100)).toBe('>a\n>*Approved*\n>&lt;!here&gt;');
    const fenced = codeBlock('```\n<!channel>', 100);
    expect(fenced.match(/```(?!\u200b)/g)).toHaveLength(2);
  });

  it('redacts secrets and shortens long values for the card', () => {
    const { value, truncated } = shortenForCard({ password: 'hunter2', list: Array.from({ length: 30 }, (_, i) => i), s: 'x'.repeat(300) });
    expect(truncated).toBe(true);
    expect(JSON.stringify(value)).not.toContain('hunter2');
    expect((value as { list: unknown[] }).list).toHaveLength(21);
  });
});

describe('hidden characters in agent text', () => {
  const BIDI_OR_INVISIBLE = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069\u180E\u200C\u200D\u2060-\u2064\uFEFF]/u;
  const hostile = action({
    justification: 'Rename the file \u202Etxt.exe\u202C as agreed',
    reasoning: 'rule \u2066says\u2069 so',
    params: { 'na\u200Bme': 'pay\u200Broll', cmd: 'rm\u2060 -rf /tmp/x', note: 'team 👩\u200D💻 ok', bom: '\uFEFFx' },
    onBehalfOf: 'U0BOB\u200F',
  });

  it('bidi controls and zero-width characters are shown as [U+XXXX] on the card, the modal and the outcome, never sent as is', () => {
    const agent = { name: 'deploy\u200D-bot', owner: 'plat\u202Eform' };
    const messages = [approvalCard(hostile, agent), decidedCard({ ...hostile, status: 'denied' }, agent, []), fullPayloadModal(hostile)];
    for (const m of messages) {
      const text = JSON.stringify(m);
      const parsed = JSON.parse(text) as unknown;
      const strings: string[] = [];
      const walk = (v: unknown): void => {
        if (typeof v === 'string') strings.push(v);
        else if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      };
      walk(parsed);
      for (const s of strings) {
        // The joiner inside the emoji stays; nothing else hidden does.
        expect(BIDI_OR_INVISIBLE.test(s.replace(/👩\u200D💻/gu, '')), s).toBe(false);
        // Our own zero-width space only ever follows a backtick (it keeps code blocks closed).
        expect(/(?<!`)\u200B/u.test(s), s).toBe(false);
      }
      expect(text).toMatch(/\[U\+(202E|200B)\]/);
    }
    expect(JSON.stringify(approvalCard(hostile, agent))).toContain('pay[U+200B]roll');
    expect(JSON.stringify(outcomeReply({ ...hostile, status: 'committed', result: { msg: 'done\u202E' } }))).toContain('done[U+202E]');
  });
});
