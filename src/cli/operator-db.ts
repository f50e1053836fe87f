import { parseEnv, type Env } from '../config/env';
import { connectDb, type DbHandle } from '../db/client';
import { AgentInputError } from '../auth/agents';
import type { CliIo } from './io';

/**
 * Operator commands talk to the database directly (an operator with DATABASE_URL is an admin by nature).
 * Opens one small pool for the command, turns input errors into exit code 1, and always closes it.
 */
export async function withOperatorDb(
  io: CliIo,
  run: (handle: DbHandle, env: Env) => Promise<number>,
  opts: { max?: number; applicationName?: string } = {},
): Promise<number> {
  const env = parseEnv();
  if (!env.DATABASE_URL) {
    io.stderr('DATABASE_URL is not set');
    return 2;
  }
  const handle = connectDb(env.DATABASE_URL, {
    max: opts.max ?? 1,
    preparedStatements: env.COUNTERSIGN_DB_PREPARED_STATEMENTS,
    pipelining: env.COUNTERSIGN_DB_PIPELINING,
    ...(opts.applicationName ? { applicationName: opts.applicationName } : {}),
  });
  try {
    return await run(handle, env);
  } catch (e) {
    if (e instanceof AgentInputError) {
      io.stderr(e.message);
      return 1;
    }
    throw e;
  } finally {
    await handle.close();
  }
}
