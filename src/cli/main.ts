import { userInfo } from 'node:os';
import { helpFor, isHelpFlag, MIGRATE_USAGE, USAGE } from './help';
import { processIo, type CliIo } from './io';

// Commands are loaded when run, so `countersign --help` (and a mistyped command) load next to nothing.

/** The operator identity recorded in evidence for CLI actions. */
export function operator(): string {
  return `admin:cli:${process.env.COUNTERSIGN_OPERATOR ?? userInfo().username}`;
}

export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (e) {
    const { HeldByServer } = await import('./operator-db');
    if (!(e instanceof HeldByServer)) throw e;
    // The embedded database is open in a running server: it runs the command (nothing was done here yet).
    const { forwardToServer } = await import('./forward');
    return forwardToServer(e.dataDir, e.pid, argv, operator(), io);
  }
}

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  const by = io.context?.operator ?? operator();
  if (command === undefined) {
    io.stderr(USAGE);
    return 2;
  }
  if (command === 'help' || isHelpFlag(command)) {
    io.stdout(USAGE);
    return 0;
  }
  // `COMMAND [SUB] --help` anywhere on the line: help, exit 0, nothing run (`serve --help` starts nothing).
  if (rest.some(isHelpFlag)) {
    const help = await helpFor(command, rest[0] && !rest[0].startsWith('-') ? rest[0] : undefined);
    if (help !== null) {
      io.stdout(help);
      return 0;
    }
  }
  switch (command) {
    case 'migrate': {
      const { parseEnv } = await import('../config/env');
      const env = parseEnv();
      if (!env.DATABASE_URL) {
        io.stderr(`DATABASE_URL is not set: nothing to migrate (the embedded database is migrated whenever it is opened)\n${MIGRATE_USAGE}`);
        return 2;
      }
      const { runMigrations } = await import('../db/migrate');
      await runMigrations(env.DATABASE_URL);
      io.stdout('migrations applied');
      return 0;
    }
    case 'serve': {
      const { serve } = await import('./serve');
      return serve(rest, io);
    }
    case 'demo': {
      const { runDemo } = await import('./demo');
      return runDemo(rest, io);
    }
    case 'agents': {
      const { runAgentsCommand } = await import('./agents');
      return runAgentsCommand(rest, io, by);
    }
    case 'admins': {
      const { runAdminsCommand } = await import('./admins');
      return runAdminsCommand(rest, io, by);
    }
    case 'kill':
    case 'resume': {
      const { runKillCommand } = await import('./kill');
      return runKillCommand(command, rest, io, by);
    }
    case 'grants': {
      const { runGrantsCommand } = await import('./grants');
      return runGrantsCommand(rest, io, by);
    }
    case 'policy': {
      if (rest[0] === 'rollout') {
        const { runRolloutCommand } = await import('./rollout');
        return runRolloutCommand(rest.slice(1), io, by);
      }
      const { runPolicyCli } = await import('./policy');
      return runPolicyCli(rest, io);
    }
    case 'audit': {
      const { runAuditCommand } = await import('./audit');
      return runAuditCommand(rest, io);
    }
    case 'keys': {
      const { runKeysCommand } = await import('./audit-keys');
      return runKeysCommand(rest, io, by);
    }
    case 'review':
    case 'matrix': {
      const { runReviewCommand, runMatrixCommand } = await import('./review');
      return command === 'review' ? runReviewCommand(rest, io) : runMatrixCommand(rest, io);
    }
    case 'config': {
      const { runConfigCommand } = await import('./config');
      return runConfigCommand(rest, io);
    }
    case 'drill': {
      const { runDrillCommand } = await import('./drill');
      return runDrillCommand(rest, io, by);
    }
    default:
      io.stderr(`unknown command "${command}" (countersign --help lists them)\n${USAGE}`);
      return 2;
  }
}

/** Errors whose message is meant for the operator (a configuration problem): printed without a stack. */
async function isOperatorError(e: unknown): Promise<boolean> {
  const [{ EnvError }, { ConfigError }, { EmbeddedError }, { SigningKeyLockedError }, { OperatorDbError }] = await Promise.all([
    import('../config/env'),
    import('../config/file-config'),
    import('../embedded/data-dir'),
    import('../receipts'),
    import('./operator-db'),
  ]);
  return e instanceof EnvError || e instanceof ConfigError || e instanceof EmbeddedError || e instanceof SigningKeyLockedError || e instanceof OperatorDbError;
}

// Run when executed as the CLI entry (bin/countersign.js imports this module).
if (!process.env.VITEST) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      if (code !== -1) process.exitCode = code;
    },
    async (e) => {
      if (await isOperatorError(e).catch(() => false)) process.stderr.write(`${(e as Error).message}\n`);
      else process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
