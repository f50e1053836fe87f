import { createAdminCredential } from '../auth/admin';
import { listAdminCredentials, revokeAdminCredential } from '../auth/admin-tokens';
import { parseFlags, type CliIo } from './io';
import { withOperatorDb } from './operator-db';

export const USAGE = `usage:
  countersign admins create NAME [--json]   a new operator credential (csadm_…) for /v1/admin, shown once
  countersign admins list [--json]
  countersign admins revoke NAME`;

/** Operator credentials for the admin API; every change is audited as the CLI operator. */
export async function runAdminsCommand(argv: string[], io: CliIo, operator: string): Promise<number> {
  const [sub, ...rest] = argv;
  const { flags, positionals } = parseFlags(rest);
  const name = positionals[0];
  if (!['create', 'list', 'revoke'].includes(sub ?? '') || (sub !== 'list' && !name)) {
    io.stderr(USAGE);
    return 2;
  }
  return withOperatorDb(io, async (handle) => {
    if (sub === 'create') {
      if (!/^[a-z0-9][a-z0-9_.@-]{0,62}$/.test(name!)) {
        io.stderr('admin names are 1-63 characters of a-z, 0-9, _ . @ and -');
        return 2;
      }
      const existing = (await listAdminCredentials(handle.db)).find((a) => a.name === name);
      if (existing) {
        io.stderr(`an admin credential named ${name} already exists`);
        return 1;
      }
      const { admin, token } = await createAdminCredential(handle.db, name!, operator);
      if (flags.json) io.stdout(JSON.stringify({ admin, token }));
      else io.stdout(`created admin credential ${admin.name} (${admin.id}); token (shown once, store it now): ${token}`);
      return 0;
    }
    if (sub === 'list') {
      const rows = await listAdminCredentials(handle.db);
      if (flags.json) io.stdout(JSON.stringify(rows));
      else for (const r of rows) io.stdout(`${r.name}\t${r.id}\t${r.revoked_at ? `revoked ${r.revoked_at}` : 'active'}`);
      return 0;
    }
    const revoked = await revokeAdminCredential(handle.db, name!, operator);
    if (!revoked) {
      io.stderr(`no active admin credential named ${name}`);
      return 1;
    }
    io.stdout(`revoked admin credential ${revoked.name} (${revoked.id})`);
    return 0;
  });
}
