import { ensureSigningKey, isEncrypted, listSigningKeys, rotateSigningKey } from '../receipts';
import { parseMoment } from '../audit/time-range';
import { parseFlags, type CliIo } from './io';
import { withOperatorDb } from './operator-db';

export const USAGE = `usage:
  countersign keys list [--json]
  countersign keys rotate [--expire-previous-after 90d]`;

/** `countersign keys …`: the Ed25519 keys that sign receipts. */
export async function runKeysCommand(argv: string[], io: CliIo, operator: string): Promise<number> {
  const [sub, ...rest] = argv;
  const { flags } = parseFlags(rest);
  if (sub !== 'list' && sub !== 'rotate') {
    io.stderr(USAGE);
    return 2;
  }
  return withOperatorDb(io, async (handle, env) => {
    if (sub === 'rotate') {
      let expireMs: number | undefined;
      const after = flags['expire-previous-after'];
      if (typeof after === 'string') {
        const ago = parseMoment(after, new Date(0));
        if (!ago) {
          io.stderr('--expire-previous-after takes an age such as 90d or 12h');
          return 2;
        }
        expireMs = -ago.getTime();
      }
      const r = await rotateSigningKey(handle.db, operator, { expireRetiredAfterMs: expireMs, passphrase: env.COUNTERSIGN_RECEIPT_KEY_PASSPHRASE });
      io.stdout(
        `new signing key ${r.kid} (${r.encrypted ? 'encrypted' : 'stored unencrypted: set COUNTERSIGN_RECEIPT_KEY_PASSPHRASE'}); ` +
          `retired ${r.retired.join(', ') || '(none)'} (still published${expireMs ? ' until expiry' : ''})`,
      );
      return 0;
    }
    await ensureSigningKey(handle.db, { passphrase: env.COUNTERSIGN_RECEIPT_KEY_PASSPHRASE });
    const rows = await listSigningKeys(handle.db);
    if (flags.json) io.stdout(JSON.stringify(rows.map(({ privateKey: _p, ...r }) => ({ ...r, encrypted: isEncrypted({ privateKey: _p }) }))));
    else
      for (const k of rows) {
        const state = k.retiredAt ? `retired ${k.retiredAt.toISOString()}` : 'signing';
        const stored = isEncrypted(k) ? 'encrypted' : 'unencrypted';
        io.stdout(`${k.kid}\t${state}\t${stored}\tcreated ${k.createdAt.toISOString()}${k.expiresAt ? `\texpires ${k.expiresAt.toISOString()}` : ''}`);
      }
    return 0;
  });
}
