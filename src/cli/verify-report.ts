import { readFileSync } from 'node:fs';
import { verifyDocument, type KeySet } from '../receipts';
import type { CliIo } from './io';

/**
 * `countersign audit verify-report FILE --keys URL|FILE`: checks a signed drill report offline against the
 * published receipt keys. Exit 0 valid, 1 invalid, 2 when the file or keys cannot be read.
 */
export async function verifyReportCommand(file: string | undefined, keysSource: string | undefined, json: boolean, io: CliIo, loadKeys: (source: string) => Promise<KeySet>): Promise<number> {
  if (!file || !keysSource) {
    io.stderr('usage: countersign audit verify-report FILE|- --keys URL|FILE');
    return 2;
  }
  let input: unknown;
  let keys: KeySet;
  try {
    input = JSON.parse(file === '-' ? await io.readStdin() : readFileSync(file, 'utf8'));
    keys = await loadKeys(keysSource);
  } catch (e) {
    io.stderr(`cannot read the report or the keys: ${(e as Error).message}`);
    return 2;
  }
  const check = verifyDocument(input, keys);
  if (json) io.stdout(JSON.stringify(check.ok ? { ok: true, kid: check.signed.kid } : check));
  else if (check.ok) {
    const d = check.signed.document as { typ?: string; drill_id?: string; passed?: boolean; finished_at?: string };
    io.stdout(`report valid (key ${check.signed.kid}): ${d.typ ?? 'document'} ${d.drill_id ?? ''} ${d.passed === undefined ? '' : d.passed ? 'PASSED' : 'FAILED'} ${d.finished_at ?? ''}`.trim());
  } else io.stdout(`report INVALID (${check.reason}): ${check.detail}`);
  return check.ok ? 0 : 1;
}
