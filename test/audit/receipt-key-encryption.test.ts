// Receipt signing keys encrypted at rest with COUNTERSIGN_RECEIPT_KEY_PASSPHRASE (src/receipts/keys.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReceiptSigner, ensureSigningKey, isEncrypted, listSigningKeys, privateKeyOf, rotateSigningKey, SigningKeyLockedError, verifyReceipt, publishedKeys } from '../../src/receipts';
import { runKeysCommand } from '../../src/cli/audit-keys';
import { parseEnv } from '../../src/config/env';
import { createTestDb, type TestDb } from '../support/db';
import { captureIo } from './support';
import { actionRequest, startHarness, type Harness } from '../support/harness';
import { startCountersign } from '../../src/main';

const PASSPHRASE = 'correct horse battery staple, long enough 0123';
const fields = {
  action_id: 'act_1',
  correlation_id: 'corr_1',
  agent_id: 'agt_1',
  action_class: 'external_automation.read.jobs',
  payload_hash: 'a'.repeat(64),
  decision: 'allow',
  rule_id: 'r',
  policy_version: 'v1',
  status: 'queued',
  approvers: ['policy'],
  result_hash: null,
  issued_at: new Date().toISOString(),
};

describe('receipt keys encrypted at rest', () => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb({ max: 2 });
  });
  afterAll(async () => db.drop());

  it('stores a new key encrypted, signs with it, and what it signs verifies against the published key', async () => {
    const row = await ensureSigningKey(db.db, { passphrase: PASSPHRASE });
    expect(isEncrypted(row)).toBe(true);
    expect(row.privateKey).not.toMatch(/BEGIN PRIVATE KEY/);
    const receipt = await createReceiptSigner(db.db, { passphrase: PASSPHRASE }).sign(fields);
    expect(verifyReceipt(receipt, await publishedKeys(db.db)).ok).toBe(true);
  });

  it('refuses to open it without the passphrase, or with a wrong one, saying what to set', async () => {
    const [row] = await listSigningKeys(db.db);
    expect(() => privateKeyOf(row!)).toThrow(SigningKeyLockedError);
    expect(() => privateKeyOf(row!)).toThrow(/COUNTERSIGN_RECEIPT_KEY_PASSPHRASE/);
    expect(() => privateKeyOf(row!, { passphrase: 'not the passphrase, but just as long 0123456' })).toThrow(/wrong passphrase/);
    await expect(createReceiptSigner(db.db).sign(fields)).rejects.toThrow(SigningKeyLockedError);
  });

  it('keys rotate with the passphrase set replaces a clear key by an encrypted one', async () => {
    await rotateSigningKey(db.db, 'admin:test'); // a clear key, as before this feature
    const [clear] = await listSigningKeys(db.db);
    expect(isEncrypted(clear!)).toBe(false);
    const saved = { url: process.env.DATABASE_URL, pass: process.env.COUNTERSIGN_RECEIPT_KEY_PASSPHRASE };
    process.env.DATABASE_URL = db.url;
    process.env.COUNTERSIGN_RECEIPT_KEY_PASSPHRASE = PASSPHRASE;
    try {
      const io = captureIo();
      expect(await runKeysCommand(['rotate'], io, 'admin:cli:test')).toBe(0);
      expect(io.text()).toMatch(/\(encrypted\)/);
      const list = captureIo();
      expect(await runKeysCommand(['list'], list, 'admin:cli:test')).toBe(0);
      expect(list.out[0]).toMatch(/\tsigning\tencrypted\t/);
    } finally {
      for (const [k, v] of [['DATABASE_URL', saved.url], ['COUNTERSIGN_RECEIPT_KEY_PASSPHRASE', saved.pass]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    const [current] = await listSigningKeys(db.db);
    expect(isEncrypted(current!)).toBe(true);
  });

  it('a passphrase shorter than 32 characters is a configuration error', () => {
    expect(() => parseEnv({ COUNTERSIGN_RECEIPT_KEY_PASSPHRASE: 'short' })).toThrow(/COUNTERSIGN_RECEIPT_KEY_PASSPHRASE.*32/);
  });
});

describe('a server whose signing key is encrypted', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { COUNTERSIGN_RECEIPT_KEY_PASSPHRASE: PASSPHRASE } });
  });
  afterAll(async () => h?.close());

  it('signs receipts that verify against its published keys', async () => {
    const res = await h.post(actionRequest({ action_class: 'external_automation.read.jobs', context: {} }));
    expect(res.status).toBe(201);
    const keys = (await (await fetch(`${h.app.url}/.well-known/countersign-keys`)).json()) as Parameters<typeof verifyReceipt>[1];
    expect(verifyReceipt(res.body, keys).ok).toBe(true);
  });

  it('another instance without the passphrase does not start, and says why', async () => {
    const { COUNTERSIGN_RECEIPT_KEY_PASSPHRASE: _p, ...withoutPassphrase } = h.env;
    await expect(startCountersign({ ...withoutPassphrase }, { config: h.app.config, workers: false })).rejects.toThrow(/stored encrypted: set COUNTERSIGN_RECEIPT_KEY_PASSPHRASE/);
  });
});
