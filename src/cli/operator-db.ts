import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseEnv, type Env } from '../config/env';
import { connectDb } from '../db/client';
import { AgentInputError } from '../auth/agents';
import type { CliIo, OperatorHandle } from './io';

export type { OperatorHandle } from './io';

/**
 * Thrown when the embedded database is held by a running server: the command is sent to that server over its
 * admin channel instead (cli/main.ts catches it before anything was done).
 */
export class HeldByServer extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`${dataDir} is held by the Countersign running as pid ${pid}`);
  }
}

export class OperatorDbError extends Error {}

/**
 * Operator commands talk to the database directly (an operator who can reach it is an admin by nature):
 * - inside a server answering its admin channel (`io.context`): that server's open database;
 * - with DATABASE_URL: one small pool for the command;
 * - without: the embedded database in COUNTERSIGN_DATA_DIR, opened here when no server holds it
 *   (HeldByServer otherwise, and the command goes through the server).
 * Input errors become exit code 1; whatever was opened is closed.
 */
export async function withOperatorDb(
  io: CliIo,
  run: (handle: OperatorHandle, env: Env) => Promise<number>,
  opts: { max?: number; applicationName?: string } = {},
): Promise<number> {
  const guarded = async (handle: OperatorHandle, env: Env) => {
    try {
      return await run(handle, env);
    } catch (e) {
      if (e instanceof AgentInputError) {
        io.stderr(e.message);
        return 1;
      }
      throw e;
    }
  };
  if (io.context) return guarded(io.context.database, io.context.env);
  const env = parseEnv();
  if (env.DATABASE_URL) {
    const handle = connectDb(env.DATABASE_URL, {
      max: opts.max ?? 1,
      preparedStatements: env.COUNTERSIGN_DB_PREPARED_STATEMENTS,
      pipelining: env.COUNTERSIGN_DB_PIPELINING,
      ...(opts.applicationName ? { applicationName: opts.applicationName } : {}),
    });
    try {
      return await guarded(handle, env);
    } finally {
      await handle.close();
    }
  }
  const dataDir = resolve(env.COUNTERSIGN_DATA_DIR);
  const { claimDataDir, dataDirHolder } = await import('../embedded/data-dir');
  const holder = dataDirHolder(dataDir);
  if (holder !== null) throw new HeldByServer(dataDir, holder);
  if (!existsSync(join(dataDir, 'pgdata', 'PG_VERSION'))) {
    throw new OperatorDbError(
      `no database: DATABASE_URL is not set and ${dataDir} holds no embedded database yet. ` +
        'Start Countersign once (npm start) to create it, set COUNTERSIGN_DATA_DIR to where it lives, or set DATABASE_URL.',
    );
  }
  const lock = claimDataDir(dataDir);
  try {
    const { openEmbeddedDatabase } = await import('../embedded/database');
    const embedded = await openEmbeddedDatabase(join(dataDir, 'pgdata'));
    try {
      return await guarded({ db: embedded.db, sql: null }, env);
    } finally {
      await embedded.close();
    }
  } finally {
    lock.release();
  }
}
