import { userInfo } from 'node:os';
import { EnvError, parseEnv } from '../config/env';
import { SigningKeyLockedError } from '../receipts';
import { ConfigError } from '../config/file-config';
import { EmbeddedError } from '../embedded/data-dir';
import { runMigrations } from '../db/migrate';
import { runAgentsCommand } from './agents';
import { processIo, type CliIo } from './io';

const USAGE = `countersign — a Slack approval gateway for AI-agent actions

usage:
  countersign migrate                      apply database migrations
  countersign serve [--api-only|--worker-only]  run the API, the Slack app and the workers
  countersign agents create|list|rotate|revoke …  manage agent identities and their tokens
  countersign kill AGENT|--all / resume AGENT      the kill switch
  countersign grants list|revoke …         standing grants ("Approve this and similar")
  countersign admins create|list|revoke …           operator credentials for /v1/admin
  countersign policy eval|explain|test|lint|replay …  policy tools
  countersign policy rollout status|promote|rollback …  a candidate bundle in shadow, checkpoints, promotion
  countersign audit verify|show|export|verify-receipt|verify-report …  evidence: chain check, timelines, SIEM export, receipts
  countersign keys list|rotate             receipt signing keys
  countersign review [--since 30d] [--out DIR]  periodic access and policy review (Markdown + CSV)
  countersign matrix [--out FILE]          scope-and-approval matrix (CSV)
  countersign drill --instances URL,…      tabletop exercises against a running deployment, signed report
  countersign config check|log             validate countersign.yaml against the version in force; its version log`;

/** The operator identity recorded in evidence for CLI actions. */
function operator(): string {
  return `admin:cli:${process.env.COUNTERSIGN_OPERATOR ?? userInfo().username}`;
}

export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'migrate': {
      const env = parseEnv();
      if (!env.DATABASE_URL) {
        io.stderr('DATABASE_URL is not set');
        return 2;
      }
      await runMigrations(env.DATABASE_URL);
      io.stdout('migrations applied');
      return 0;
    }
    case 'serve': {
      const { serve } = await import('./serve');
      return serve(rest, io);
    }
    case 'agents':
      return runAgentsCommand(rest, io, operator());
    case 'admins': {
      const { runAdminsCommand } = await import('./admins');
      return runAdminsCommand(rest, io, operator());
    }
    case 'kill':
    case 'resume': {
      const { runKillCommand } = await import('./kill');
      return runKillCommand(command, rest, io, operator());
    }
    case 'grants': {
      const { runGrantsCommand } = await import('./grants');
      return runGrantsCommand(rest, io, operator());
    }
    case 'policy': {
      if (rest[0] === 'rollout') {
        const { runRolloutCommand } = await import('./rollout');
        return runRolloutCommand(rest.slice(1), io, operator());
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
      return runKeysCommand(rest, io, operator());
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
      return runDrillCommand(rest, io, operator());
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      io.stdout(USAGE);
      return command === undefined ? 2 : 0;
    default:
      io.stderr(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

// Run when executed as the CLI entry (bin/countersign.js imports this module).
if (!process.env.VITEST) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      if (code !== -1) process.exitCode = code;
    },
    (e) => {
      if (e instanceof EnvError || e instanceof ConfigError || e instanceof EmbeddedError || e instanceof SigningKeyLockedError) process.stderr.write(`${e.message}\n`);
      else process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
