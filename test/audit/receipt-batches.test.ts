// Receipts signed together (issue #20): one Ed25519 signature over the root of a Merkle tree, each receipt
// carrying its path (src/receipts/merkle.ts, sign.ts signBatch, verify.ts). Each must verify offline on its own,
// with the library and with `countersign audit verify-receipt`, and fail once anything in it is changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createReceiptSigner, publishedKeys, verifyReceipt, type KeySet, type SignedReceipt } from '../../src/receipts';
import { leafHash, merkleTree, rootFromPath } from '../../src/receipts/merkle';
import { canonicalJson } from '../../src/lib/canonical-json';
import { runAuditCommand } from '../../src/cli/audit';
import { createTestDb, type TestDb } from '../support/db';
import { actionRequest, startHarness, type Harness } from '../support/harness';
import { captureIo } from './support';

const fields = (i: number) => ({
  action_id: `act_${i}`,
  correlation_id: `corr_${i}`,
  agent_id: 'agt_1',
  action_class: 'external_automation.read.jobs',
  payload_hash: String(i % 10).repeat(64),
  decision: 'allow',
  rule_id: 'allow-automation-reads',
  policy_version: 'v1',
  status: 'queued',
  approvers: ['policy'],
  result_hash: null,
  issued_at: new Date().toISOString(),
});

describe('Merkle tree', () => {
  it('gives every leaf a path to the root, for every batch size up to 33', () => {
    for (let n = 1; n <= 33; n++) {
      const leaves = Array.from({ length: n }, (_, i) => leafHash(`leaf ${i}`));
      const { root, paths } = merkleTree(leaves);
      leaves.forEach((leaf, i) => expect(rootFromPath(leaf, paths[i]!).equals(root)).toBe(true));
      // Paths are no longer than the tree is deep, and another leaf's path does not fit.
      expect(Math.max(...paths.map((p) => p.length))).toBe(Math.ceil(Math.log2(n)));
      if (n > 1) expect(rootFromPath(leaves[0]!, paths[1]!).equals(root)).toBe(false);
    }
  });

  it('separates leaves from inner nodes (RFC 6962 prefixes): two hashes posing as one payload do not make the inner node', () => {
    const [a, b] = [leafHash('a'), leafHash('b')];
    const { root } = merkleTree([a, b]);
    expect(root.equals(createHash('sha256').update(Buffer.from([1])).update(a).update(b).digest())).toBe(true);
    expect(leafHash(Buffer.concat([a, b]).toString('latin1')).equals(root)).toBe(false);
    expect(a.equals(createHash('sha256').update(Buffer.from([0])).update('a').digest())).toBe(true);
  });
});

describe('batch-signed receipts', () => {
  let db: TestDb;
  let keys: KeySet;
  let batch: SignedReceipt[];
  beforeAll(async () => {
    db = await createTestDb({ max: 2 });
    batch = await createReceiptSigner(db.db).signBatch(Array.from({ length: 7 }, (_, i) => fields(i)));
    keys = await publishedKeys(db.db);
  });
  afterAll(async () => db.drop());

  it('share one signature over the root, and each verifies on its own', () => {
    expect(new Set(batch.map((r) => r.signature)).size).toBe(1);
    expect(new Set(batch.map((r) => r.batch!.root)).size).toBe(1);
    for (const receipt of batch) expect(verifyReceipt(receipt, keys)).toMatchObject({ ok: true });
  });

  it('verify with nothing but SHA-256 and Ed25519, as docs/audit.md describes', () => {
    const r = batch[3]!;
    let hash = createHash('sha256').update(Buffer.from([0])).update(canonicalJson(r.payload)).digest();
    for (const step of r.batch!.path) {
      const sibling = Buffer.from(step.hash, 'hex');
      const [left, right] = step.side === 'left' ? [sibling, hash] : [hash, sibling];
      hash = createHash('sha256').update(Buffer.from([1])).update(left).update(right).digest();
    }
    expect(hash.toString('hex')).toBe(r.batch!.root);
    const jwk = keys.keys.find((k) => k.kid === r.kid)!;
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
    const signed = canonicalJson({ typ: 'countersign.receipt-batch', v: 1, kid: r.kid, root: r.batch!.root });
    expect(verify(null, Buffer.from(signed), key, Buffer.from(r.signature, 'base64url'))).toBe(true);
  });

  it('fail once the payload, the path, the root or the signature is changed', () => {
    const r = batch[2]!;
    const b = r.batch!;
    const flip = (hex: string) => (hex[0] === 'a' ? 'b' : 'a') + hex.slice(1);
    const altered: SignedReceipt[] = [
      { ...r, payload: { ...r.payload, status: 'committed' } },
      { ...r, payload: { ...r.payload, approvers: ['slack:U0BOSS'] } },
      { ...r, batch: { ...b, path: b.path.map((s, i) => (i === 0 ? { ...s, hash: flip(s.hash) } : s)) } },
      { ...r, batch: { ...b, path: b.path.map((s, i) => (i === 0 ? { ...s, side: s.side === 'left' ? 'right' : 'left' } : s)) } },
      { ...r, batch: { ...b, path: b.path.slice(1) } },
      { ...r, batch: { ...b, path: batch[5]!.batch!.path } },
      { ...r, batch: { ...b, root: flip(b.root) } },
      { ...r, batch: undefined },
      { ...r, signature: `${r.signature[0] === 'A' ? 'B' : 'A'}${r.signature.slice(1)}` },
    ];
    for (const receipt of altered) expect(verifyReceipt(receipt, keys)).toMatchObject({ ok: false, reason: 'bad-signature' });
    expect(verifyReceipt({ ...r, batch: { ...b, root: 'not hex' } }, keys)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('a batch of one is signed alone, as before', async () => {
    const [one] = await createReceiptSigner(db.db).signBatch([fields(9)]);
    expect(one!.batch).toBeUndefined();
    expect(verifyReceipt(one, keys).ok).toBe(true);
  });
});

describe('receipts of allowed requests that arrive together', () => {
  let h: Harness;
  let keys: KeySet;
  beforeAll(async () => {
    h = await startHarness({ start: { workers: false } });
    keys = (await (await fetch(`${h.app.url}/.well-known/countersign-keys`)).json()) as KeySet;
  });
  afterAll(async () => h.close());

  it('are signed per group commit, each verifiable offline, and a replay returns the same one', async () => {
    const bodies = Array.from({ length: 30 }, () => actionRequest({ action_class: 'external_automation.read.jobs', context: {} }));
    const responses = await Promise.all(bodies.map((b) => h.post(b)));
    expect(responses.map((r) => r.status)).toEqual(bodies.map(() => 201));
    for (const res of responses) {
      expect(verifyReceipt(res.body, keys, { expectPayloadHash: res.body.payload_hash })).toMatchObject({ ok: true });
      expect(res.body.receipt.payload).toMatchObject({ action_id: res.body.id, decision: 'allow', status: 'queued', approvers: ['policy'] });
    }
    const batched = responses.filter((r) => r.body.receipt.batch);
    // 30 requests at once cannot all find the writer idle (at most two writes in flight): batches form.
    expect(batched.length).toBeGreaterThan(0);
    expect(new Set(batched.map((r) => r.body.receipt.signature)).size).toBeLessThan(batched.length);

    const sample = batched[0]!;
    const replay = await h.post(bodies[responses.indexOf(sample)]);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.receipt).toEqual(sample.body.receipt);

    // Offline, with the CLI: the response in a file, the published keys in another.
    const dir = mkdtempSync(join(tmpdir(), 'cs-receipt-batch-'));
    writeFileSync(join(dir, 'keys.json'), JSON.stringify(keys));
    writeFileSync(join(dir, 'response.json'), JSON.stringify(sample.body));
    const ok = captureIo();
    expect(await runAuditCommand(['verify-receipt', join(dir, 'response.json'), '--keys', join(dir, 'keys.json'), '--payload-hash', sample.body.payload_hash], ok)).toBe(0);
    expect(ok.text()).toMatch(/receipt valid/);
    const receipt = sample.body.receipt as SignedReceipt;
    const forged = { ...receipt, payload: { ...receipt.payload, action_class: 'external_automation.job.delete' } };
    writeFileSync(join(dir, 'forged.json'), JSON.stringify(forged));
    const bad = captureIo();
    expect(await runAuditCommand(['verify-receipt', join(dir, 'forged.json'), '--keys', join(dir, 'keys.json')], bad)).toBe(1);
    expect(bad.text()).toMatch(/INVALID \(bad-signature\)/);
  });
});
