import { desc } from 'drizzle-orm';
import { compileContracts } from '../contracts/validate';
import { loadFileConfig } from '../config/file-config';
import { configDiff, configSnapshot, configVersion, lastLoadedConfig } from '../config/version-log';
import { configVersions } from '../db/schema';
import { parseFlags, type CliIo } from './io';
import { withOperatorDb } from './operator-db';

export const CONFIG_USAGE = `usage:
  countersign config check [FILE] [--json]   validate countersign.yaml and show what it would change (secrets redacted)
  countersign config log [--limit N] [--json]  the configuration's version log: loads, refused changes, diffs, who`;

const fmt = (v: unknown) => (v === null || v === undefined ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v));

/** `countersign config check|log`: exit 0 ok, 1 when the file does not validate, 2 on usage. */
export async function runConfigCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const { flags, positionals } = parseFlags(rest);
  if (sub !== 'check' && sub !== 'log') {
    io.stderr(CONFIG_USAGE);
    return 2;
  }
  return withOperatorDb(io, async (handle, env) => {
    if (sub === 'log') {
      const limit = Number(typeof flags.limit === 'string' ? flags.limit : 20);
      const rows = await handle.db.select().from(configVersions).orderBy(desc(configVersions.seq)).limit(limit);
      if (flags.json) io.stdout(JSON.stringify(rows));
      else
        for (const r of rows) {
          io.stdout(`#${r.seq} ${r.loadedAt.toISOString()} ${r.outcome} ${r.version} (${r.reason}; ${r.changedBy}; ${r.instance})`);
          for (const c of r.diff as Array<{ path: string; before: unknown; after: unknown }>) io.stdout(`    ${c.path}: ${fmt(c.before)} → ${fmt(c.after)}`);
          for (const e of r.errors ?? []) io.stdout(`    error: ${e}`);
        }
      return 0;
    }
    const path = positionals[0] ?? env.COUNTERSIGN_CONFIG;
    let snapshot: Record<string, unknown>;
    try {
      const config = loadFileConfig(path);
      compileContracts(config);
      snapshot = configSnapshot(config);
    } catch (e) {
      io.stdout(`${path} is refused:\n${(e as Error).message}`);
      return 1;
    }
    const last = await lastLoadedConfig(handle.db, env.COUNTERSIGN_CONFIG);
    const diff = configDiff(last?.snapshot ?? null, snapshot);
    const version = configVersion(snapshot);
    if (flags.json) io.stdout(JSON.stringify({ ok: true, version, in_force: last?.version ?? null, diff }));
    else {
      io.stdout(`${path} is valid (${version}); in force: ${last?.version ?? '(nothing recorded)'}`);
      io.stdout(diff.length ? diff.map((c) => `  ${c.path}: ${fmt(c.before)} → ${fmt(c.after)}`).join('\n') : '  no changes');
    }
    return 0;
  });
}
