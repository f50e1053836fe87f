import { afterEach, describe, expect, it } from 'vitest';
import { REDACTED, configureRedaction, luhnValid, redact, secretKeyPattern } from '../../src/audit/redact';
import { approvalCard } from '../../src/slack/blocks/approval-card';
import type { ActionRow } from '../../src/db/schema';

afterEach(() => configureRedaction(undefined));

const VISA = '4111111111111111';
const AMEX_SPACED = '3782 822463 10005';

describe('redact', () => {
  it('replaces credential-looking keys at any depth, in objects inside arrays too', () => {
    const out = redact({
      name: 'sync',
      password: 'hunter2',
      nested: { deeper: { api_key: 'k', Authorization: 'Bearer abc', ok: 1 } },
      list: [{ token: 't1' }, { client_secret: 's' }, 'plain'],
      'X-Session-Id': 'sess',
      privateKey: '-----BEGIN',
    });
    expect(out).toEqual({
      name: 'sync',
      password: REDACTED,
      nested: { deeper: { api_key: REDACTED, Authorization: REDACTED, ok: 1 } },
      list: [{ token: REDACTED }, { client_secret: REDACTED }, 'plain'],
      'X-Session-Id': REDACTED,
      privateKey: REDACTED,
    });
  });

  it('redacts a whole subtree under a secret key, not just strings', () => {
    expect(redact({ credentials: { user: 'u', pass: 'p' } })).toEqual({ credentials: REDACTED });
  });

  it('replaces Luhn-valid card numbers inside any string, spaced or dashed, whatever the key', () => {
    const out = redact({ note: `charge ${VISA} now`, memo: AMEX_SPACED, dashed: '5555-5555-5555-4444', items: [`card ${VISA}`] }) as Record<string, unknown>;
    expect(out.note).toBe(`charge ${REDACTED} now`);
    expect(out.memo).toBe(REDACTED);
    expect(out.dashed).toBe(REDACTED);
    expect(out.items).toEqual([`card ${REDACTED}`]);
  });

  it('leaves digit runs that are not card numbers: bad check digit, epoch milliseconds, short ids', () => {
    const out = redact({ order: '4111111111111112', at: '1795610006751', ms: 1795610006751, id: '123456' }) as Record<string, unknown>;
    expect(out).toEqual({ order: '4111111111111112', at: '1795610006751', ms: 1795610006751, id: '123456' });
  });

  it('replaces a card number sent as a JSON number', () => {
    expect(redact({ n: Number(VISA) })).toEqual({ n: REDACTED });
  });

  it('replaces bearer credentials in free text', () => {
    expect(redact({ cmd: 'curl -H "Authorization: Bearer eyJhbGciOi.abc.def" https://x' })).toEqual({
      cmd: `curl -H "Authorization: Bearer ${REDACTED}" https://x`,
    });
  });

  it('replaces the password inside URLs, whatever the key and wherever in the string, keeping the rest', () => {
    const out = redact({
      dsn: 'postgres://svc:s3cr3t-pw@db.internal:5432/app?sslmode=require',
      list: ['see redis://:r3d1s-pw@cache:6379/0 and https://user:p%40ss@example.com/x'],
      plain: 'https://example.com/a:b@c',
      repo: 'ssh://git@github.com/org/repo',
    }) as Record<string, unknown>;
    expect(out.dsn).toBe(`postgres://svc:${REDACTED}@db.internal:5432/app?sslmode=require`);
    expect(out.list).toEqual([`see redis://:${REDACTED}@cache:6379/0 and https://user:${REDACTED}@example.com/x`]);
    expect(out.plain).toBe('https://example.com/a:b@c');
    expect(out.repo).toBe('ssh://git@github.com/org/repo');
  });

  it('knows the Luhn rule', () => {
    expect(luhnValid(VISA)).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('79927398713')).toBe(false); // valid Luhn but too short for a card
  });

  it('takes extra key fragments from the config (redaction.extra_keys), matched case-insensitively', () => {
    const pattern = secretKeyPattern({ extra_keys: ['iban', 'x.y'] });
    expect(redact({ IBAN_number: 'DE89', xzy: 1, 'x.y': 2, name: 'n' }, pattern)).toEqual({ IBAN_number: REDACTED, xzy: 1, 'x.y': REDACTED, name: 'n' });
    // The defaults still apply.
    expect(redact({ password: 'p' }, pattern)).toEqual({ password: REDACTED });
  });

  it('configureRedaction changes what every caller redacts by default', () => {
    expect(redact({ iban: 'DE89' })).toEqual({ iban: 'DE89' });
    configureRedaction({ extra_keys: ['iban'] });
    expect(redact({ iban: 'DE89' })).toEqual({ iban: REDACTED });
  });

  it('does not recurse for ever', () => {
    let deep: Record<string, unknown> = { leaf: 'x' };
    for (let i = 0; i < 50; i++) deep = { d: deep };
    expect(JSON.stringify(redact(deep))).toContain(REDACTED);
  });
});

describe('the Slack approval card', () => {
  const row = {
    id: 'act_test',
    agentId: 'agt_test',
    actionClass: 'external_automation.workflow.create',
    params: { name: 'sync', auth: { api_key: 'sk-live-123', bearer_token: 'tok' }, steps: [{ password: 'p4ss' }], note: `pay with ${VISA}`, iban: 'DE89370400440532013000', dsn: 'postgres://svc:url-pw-123@db/app' },
    context: { target_count: 3 },
    executor: 'automation',
    dryRun: false,
    idempotencyKey: 'k',
    requestHash: 'h',
    correlationId: 'corr',
    justification: 'because',
    onBehalfOf: null,
    payloadHash: 'a'.repeat(64),
    status: 'pending_approval',
    decision: 'escalate',
    ruleId: 'escalate-automation-state-change',
    reasoning: 'state change',
    policyVersion: 'v1',
    escalation: { via: 'automation-ops', approvals: 1, timeout_seconds: 900 },
    approverGroup: 'automation-ops',
    approvalsRequired: 1,
    expiresAt: new Date(Date.now() + 60_000),
    approvedAt: null,
    approvedPayloadHash: null,
    preview: null,
    result: null,
    failure: null,
    attempts: 0,
    createdAt: new Date(),
    updatedAt: new Date(),
    finishedAt: null,
  } as unknown as ActionRow;

  it('shows redacted values only', () => {
    configureRedaction({ extra_keys: ['iban'] });
    const text = JSON.stringify(approvalCard(row, { name: 'deploy-bot', owner: 'platform' }).blocks);
    for (const secret of ['sk-live-123', 'p4ss', VISA, 'DE89370400440532013000', '"tok"', 'url-pw-123']) expect(text).not.toContain(secret);
    expect(text).toContain(REDACTED);
    expect(text).toContain('sync');
  });
});
