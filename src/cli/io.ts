import type { Env } from '../config/env';
import type { FileConfig } from '../config/file-config';
import type postgres from 'postgres';
import type { Db } from '../db/client';

/** A database an operator command works on: PostgreSQL (with its raw client) or the embedded one (no raw client). */
export type OperatorHandle = { db: Db; sql: postgres.Sql | null };

/** The CLI's view of the terminal; commands take it so tests can capture their output. */
export type CliIo = {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  readStdin: () => Promise<string>;
  /**
   * Set when a running server runs the command for an operator (its admin channel, src/cli/admin-channel.ts):
   * the server's open database, environment and countersign.yaml in force (the sandbox's own when it runs one),
   * the operator who asked, and their working directory.
   */
  context?: { database: OperatorHandle; env: Env; config?: FileConfig; operator: string; cwd?: string };
};

export const processIo: CliIo = {
  stdout: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  stderr: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

/** Minimal flag parser: `--name value`, `--name=value`, `--flag`; the rest are positionals. */
export function parseFlags(argv: string[]): { flags: Record<string, string | true>; positionals: string[] } {
  const flags: Record<string, string | true> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
      else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) flags[a.slice(2)] = argv[++i]!;
      else flags[a.slice(2)] = true;
    } else positionals.push(a);
  }
  return { flags, positionals };
}
