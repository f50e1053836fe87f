import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { parseEnv } from '../../src/config/env';
import { runAuditCommand } from '../../src/cli/audit';
import { actionRequest, eventually, startHarness, type Harness } from '../support/harness';
import { captureIo, tamper } from './support';

let h: Harness;
let dir: string;
let anchorFile: string;
let endpoint: Server;
const received: unknown[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cs-anchor-'));
  anchorFile = join(dir, 'anchors.jsonl');
  endpoint = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(endpoint.address() as { port: number }).port}/anchors`;
  h = await startHarness({ env: { COUNTERSIGN_ANCHOR_FILE: anchorFile, COUNTERSIGN_ANCHOR_URL: url, COUNTERSIGN_ANCHOR_EVERY_MS: '200' } });
  process.env.DATABASE_URL = h.db.url;
});

afterAll(async () => {
  await h?.close();
  await new Promise<void>((r) => endpoint.close(() => r()));
});

async function verify(...args: string[]) {
  const io = captureIo();
  const code = await runAuditCommand(['verify', ...args], io);
  return { code, text: io.text() };
}

describe('audit anchors outside the database', () => {
  it('a running deployment anchors the chain heads on a schedule, signed, to the file and the endpoint', async () => {
    for (let i = 0; i < 3; i++) expect((await h.post(actionRequest({ action_class: 'external_automation.read.jobs' }))).status).toBe(201);
    await eventually(async () => {
      const [row] = await h.db.sql`select count(*)::int as n from actions where status = 'committed'`;
      return row?.n === 3;
    }, 15_000, 'committed');
    const [head] = await h.db.sql`select max(seq)::text as seq from audit_events`;
    const lines = await eventually(async () => {
      if (!existsSync(anchorFile)) return null;
      const all = readFileSync(anchorFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const top = Math.max(...all.flatMap((a) => a.document.heads.map((x: { seq: number }) => x.seq)));
      return top >= Number(head!.seq) ? all : null;
    }, 10_000, 'an anchor covering the head');
    expect(lines.at(-1)).toMatchObject({ alg: 'EdDSA', document: { typ: 'countersign.audit-anchor', v: 1 } });
    // The file is written first, then the endpoint is posted to: wait for the post of the same anchor.
    const posted = await eventually(async () => received.find((a) => JSON.stringify(a) === JSON.stringify(lines.at(-1))) ?? null, 10_000, 'the same anchor posted');
    expect(posted).toMatchObject({ document: { typ: 'countersign.audit-anchor' } });
    const ok = await verify('--anchors', anchorFile);
    expect(ok.text).toContain('chain intact');
    expect(ok.code).toBe(0);
  });

  it('catches a truncated tail that the chain alone cannot see', async () => {
    await h.app.close().catch(() => {});
    // Delete the newest events of every lane, as someone with the owner's rights might.
    await tamper(h.db.db, (db) => db.execute(sql`delete from audit_events where seq > (select max(seq) - 4 from audit_events)`));
    const plain = await verify();
    expect(plain.code).toBe(0); // every remaining link still holds: this is why anchors exist
    const anchored = await verify('--anchors', anchorFile);
    expect(anchored.code).toBe(1);
    expect(anchored.text).toMatch(/chain BROKEN.*deleted/);
    expect(anchored.text).toMatch(/anchored record \d+ of lane \d+ is gone/);
  });

  it('refuses an anchors file with a forged or edited anchor', async () => {
    const lines = readFileSync(anchorFile, 'utf8').trim().split('\n');
    const forged = JSON.parse(lines[0]!);
    forged.document.heads[0].seq = 1;
    const path = join(dir, 'forged.jsonl');
    writeFileSync(path, `${lines.slice(1).join('\n')}\n${JSON.stringify(forged)}\n`);
    const res = await verify('--anchors', path);
    expect(res.code).toBe(1);
    expect(res.text).toContain(`line ${lines.length}: bad-signature`);
    const missing = await verify('--anchors', join(dir, 'nope.jsonl'));
    expect(missing.code).toBe(1);
    expect(missing.text).toContain('ENOENT');
  });

  it('`audit anchor` writes one now; a plain-http endpoint off the machine is refused', async () => {
    const file = join(dir, 'manual.jsonl');
    const io = captureIo();
    expect(await runAuditCommand(['anchor', '--file', file], io)).toBe(0);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
    const bad = captureIo();
    expect(await runAuditCommand(['anchor', '--url', 'http://anchors.example.com/x'], bad)).toBe(2);
    expect(bad.err.join('\n')).toContain('https://');
    expect(() => parseEnv({ COUNTERSIGN_ANCHOR_URL: 'http://10.0.0.5/anchor' })).toThrow(/https/);
    expect(parseEnv({ COUNTERSIGN_ANCHOR_URL: 'https://anchors.example.com/x' }).COUNTERSIGN_ANCHOR_URL).toBe('https://anchors.example.com/x');
  });
});
