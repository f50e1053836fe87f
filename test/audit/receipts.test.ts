import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { createReceiptSigner, ensureSigningKey, publishedKeys, rotateSigningKey, verifyReceipt, type KeySet } from '../../src/receipts';
import { runAuditCommand } from '../../src/cli/audit';
import { runKeysCommand } from '../../src/cli/audit-keys';
import { auditEvents } from '../../src/db/schema';
import { createTestDb, type TestDb } from '../support/db';
import { actionRequest, eventually, startHarness, type Harness } from '../support/harness';
import { captureIo } from './support';

describe('receipt keys and signatures', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb({ max: 4 });
  });
  afterAll(async () => db.drop());

  const fields = {
    action_id: 'act_1',
    correlation_id: 'corr_1',
    agent_id: 'agt_1',
    action_class: 'external_automation.workflow.create',
    payload_hash: 'a'.repeat(64),
    decision: 'escalate',
    rule_id: 'r',
    policy_version: 'v1',
    status: 'approved',
    approvers: ['slack:U1', 'slack:U2'],
    result_hash: null,
    issued_at: new Date().toISOString(),
  };

  it('creates one key on first start, even when instances race', async () => {
    const rows = await Promise.all([ensureSigningKey(db.db), ensureSigningKey(db.db), ensureSigningKey(db.db)]);
    expect(new Set(rows.map((r) => r.kid)).size).toBe(1);
    const keys = await publishedKeys(db.db);
    expect(keys.keys).toHaveLength(1);
    expect(keys.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: rows[0]!.kid, retired_at: null });
    expect(JSON.stringify(keys)).not.toMatch(/PRIVATE/);
  });

  it('signs receipts that verify offline, and fail once anything is changed', async () => {
    const signer = createReceiptSigner(db.db);
    const receipt = await signer.sign(fields);
    const keys = await publishedKeys(db.db);
    expect(verifyReceipt(receipt, keys)).toMatchObject({ ok: true });
    expect(verifyReceipt({ id: 'act_1', receipt }, keys).ok).toBe(true);
    for (const change of [{ status: 'committed' }, { approvers: ['slack:U1'] }, { payload_hash: 'b'.repeat(64) }, { policy_version: 'v2' }]) {
      const altered = { ...receipt, payload: { ...receipt.payload, ...change } };
      expect(verifyReceipt(altered, keys)).toMatchObject({ ok: false, reason: 'bad-signature' });
    }
    const flipped = receipt.signature.startsWith('A') ? `B${receipt.signature.slice(1)}` : `A${receipt.signature.slice(1)}`;
    expect(verifyReceipt({ ...receipt, signature: flipped }, keys).ok).toBe(false);
    expect(verifyReceipt(receipt, { keys: [] })).toMatchObject({ ok: false, reason: 'unknown-key' });
    expect(verifyReceipt({ nope: 1 }, keys)).toMatchObject({ ok: false, reason: 'malformed' });
    expect(verifyReceipt(receipt, keys, { expectPayloadHash: 'c'.repeat(64) })).toMatchObject({ ok: false, reason: 'payload-mismatch' });
  });

  it('rotates: a new key signs, the old one stays published so old receipts still verify, until it expires', async () => {
    const signer = createReceiptSigner(db.db);
    const old = await signer.sign(fields);
    const r = await rotateSigningKey(db.db, 'admin:test');
    expect(r.retired).toEqual([old.kid]);
    const fresh = await createReceiptSigner(db.db).sign(fields);
    expect(fresh.kid).toBe(r.kid);
    expect(fresh.kid).not.toBe(old.kid);
    const keys = await publishedKeys(db.db);
    expect(keys.keys.map((k) => k.kid)).toEqual([r.kid, old.kid]);
    expect(verifyReceipt(old, keys).ok).toBe(true);
    expect(verifyReceipt(fresh, keys).ok).toBe(true);

    await rotateSigningKey(db.db, 'admin:test', { expireRetiredAfterMs: -1000 });
    const after = await publishedKeys(db.db);
    expect(after.keys.map((k) => k.kid)).not.toContain(r.kid);
    expect(verifyReceipt(fresh, after)).toMatchObject({ ok: false, reason: 'unknown-key' });
    const types = (await db.db.select({ type: auditEvents.type }).from(auditEvents)).map((e) => e.type);
    expect(types.filter((t) => t === 'signing_key.rotated')).toHaveLength(2);
  });

  it('countersign keys rotate|list', async () => {
    const saved = process.env.DATABASE_URL;
    process.env.DATABASE_URL = db.url;
    try {
      const io = captureIo();
      expect(await runKeysCommand(['rotate'], io, 'admin:cli:test')).toBe(0);
      expect(io.text()).toMatch(/new signing key ed25519-[0-9a-f]{16}/);
      const list = captureIo();
      expect(await runKeysCommand(['list', '--json'], list, 'admin:cli:test')).toBe(0);
      const rows = JSON.parse(list.out[0]!) as Record<string, unknown>[];
      expect(rows.filter((k) => k.retiredAt === null)).toHaveLength(1);
      expect(list.out[0]).not.toMatch(/PRIVATE/);
    } finally {
      if (saved === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved;
    }
  });
});

describe('receipts returned to agents', () => {
  let h: Harness;
  let keys: KeySet;
  let dir: string;
  beforeAll(async () => {
    h = await startHarness();
    const res = await fetch(`${h.app.url}/.well-known/countersign-keys`);
    expect(res.status).toBe(200);
    keys = (await res.json()) as KeySet;
    dir = mkdtempSync(join(tmpdir(), 'cs-receipts-'));
  });
  afterAll(async () => h.close());

  it('the intake response carries a receipt of the decision; a replay returns the same one', async () => {
    const body = actionRequest();
    const res = await h.post(body);
    expect(res.status).toBe(201);
    const check = verifyReceipt(res.body, keys);
    expect(check.ok).toBe(true);
    expect(res.body.receipt.payload).toMatchObject({
      action_id: res.body.id,
      payload_hash: res.body.payload_hash,
      decision: 'escalate',
      status: 'pending_approval',
      approvers: [],
      policy_version: res.body.decision.policy_version,
      correlation_id: body.correlation_id,
      kid: keys.keys[0]!.kid,
    });
    const again = await h.post(body);
    expect(again.body.receipt).toEqual(res.body.receipt);
  });

  it('a denial (problem+json) carries a receipt too', async () => {
    const res = await h.post(actionRequest({ params: { name: 'n', target_count: 40 } }));
    expect(res.status).toBe(403);
    expect(verifyReceipt(res.body, keys).ok).toBe(true);
    expect(res.body.receipt.payload).toMatchObject({ action_id: res.body.action_id, decision: 'deny', status: 'denied' });
  });

  it('GET /v1/actions/:id signs the commit outcome, with the hash of what the executor answered', async () => {
    const res = await h.post(actionRequest({ action_class: 'external_automation.read.jobs', context: {} }));
    const done = await eventually(async () => {
      const r = await h.get(`/v1/actions/${res.body.id}`);
      return r.body.status === 'committed' ? r.body : null;
    }, 10_000, 'committed');
    expect(verifyReceipt(done, keys).ok).toBe(true);
    expect(done.receipt.payload).toMatchObject({ status: 'committed', decision: 'allow', approvers: ['policy'] });
    expect(done.receipt.payload.result_hash).toMatch(/^[0-9a-f]{64}$/);

    // Offline, with the CLI: a file and a keys file.
    const receiptFile = join(dir, 'receipt.json');
    const keysFile = join(dir, 'keys.json');
    writeFileSync(receiptFile, JSON.stringify(done));
    writeFileSync(keysFile, JSON.stringify(keys));
    const ok = captureIo();
    expect(await runAuditCommand(['verify-receipt', receiptFile, '--keys', keysFile, '--payload-hash', done.payload_hash], ok)).toBe(0);
    expect(ok.text()).toMatch(/receipt valid/);
    // From stdin, keys from the URL.
    const viaUrl = captureIo(JSON.stringify(done.receipt));
    expect(await runAuditCommand(['verify-receipt', '-', '--keys', `${h.app.url}/.well-known/countersign-keys`], viaUrl)).toBe(0);
    // Altered: the agent claims it was approved by someone else.
    const forged = { ...done.receipt, payload: { ...done.receipt.payload, approvers: ['slack:U0BOSS'] } };
    writeFileSync(receiptFile, JSON.stringify(forged));
    const bad = captureIo();
    expect(await runAuditCommand(['verify-receipt', receiptFile, '--keys', keysFile], bad)).toBe(1);
    expect(bad.text()).toMatch(/INVALID \(bad-signature\)/);
  });

  it('keys are created at start-up and recorded as evidence', async () => {
    const events = await h.db.db.select().from(auditEvents).where(sql`type = 'signing_key.created'`);
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({ kid: keys.keys[0]!.kid });
  });
});
