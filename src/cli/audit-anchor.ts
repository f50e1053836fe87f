import { hostname } from 'node:os';
import { parseEnv } from '../config/env';
import type { Db } from '../db/client';
import { readAnchorFile, writeAnchor } from '../audit/anchor';
import type { LaneHead } from '../audit/verify';
import { publishedKeys, type KeySet } from '../receipts';
import type { CliIo } from './io';

type Flags = Record<string, string | true>;
const str = (v: string | true | undefined) => (typeof v === 'string' ? v : undefined);

/** `countersign audit anchor`: one signed anchor now (for cron, or before a risky maintenance). */
export async function anchorCommand(db: Db, flags: Flags, io: CliIo): Promise<number> {
  const env = parseEnv();
  const target = { file: str(flags.file) ?? env.COUNTERSIGN_ANCHOR_FILE, url: str(flags.url) ?? env.COUNTERSIGN_ANCHOR_URL };
  if (!target.file && !target.url) {
    io.stderr('--file or --url is required (or set COUNTERSIGN_ANCHOR_FILE / COUNTERSIGN_ANCHOR_URL)');
    return 2;
  }
  if (target.url && str(flags.url)) {
    try {
      parseEnv({ COUNTERSIGN_ANCHOR_URL: target.url });
    } catch (e) {
      io.stderr(`--url ${(e as Error).message.replace(/^invalid environment:\n\s*- COUNTERSIGN_ANCHOR_URL: /, '')}`);
      return 2;
    }
  }
  const signed = await writeAnchor(db, target, { instance: `${hostname()}:cli`, passphrase: env.COUNTERSIGN_RECEIPT_KEY_PASSPHRASE });
  if (!signed) io.stdout('no evidence yet: nothing to anchor');
  else io.stdout(`anchored ${JSON.stringify((signed.document as { heads: unknown }).heads)} (key ${signed.kid})`);
  return 0;
}

/**
 * The heads recorded in an anchors file, every signature checked (against --keys, else the keys this database
 * publishes); null, with the reason printed, when one does not verify.
 */
export async function anchoredHeads(db: Db, file: string, keysSource: string | undefined, io: CliIo, loadKeys: (s: string) => Promise<KeySet>): Promise<LaneHead[] | null> {
  const keys = keysSource ? await loadKeys(keysSource) : await publishedKeys(db);
  let check: ReturnType<typeof readAnchorFile>;
  try {
    check = readAnchorFile(file, keys);
  } catch (e) {
    io.stdout(`cannot read anchors file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return null;
  }
  if (!check.ok) {
    io.stdout(`anchors file ${file}, line ${check.line}: ${check.detail}`);
    return null;
  }
  io.stderr(`${check.anchors} signed anchor(s) read from ${file}`);
  return check.heads;
}
