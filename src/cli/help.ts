/**
 * What `countersign --help` and `countersign COMMAND [SUB] --help` print. Kept apart from the commands so
 * the top-level help loads nothing else (it answers in well under a second); a command's own usage text is
 * loaded from its module only when asked for.
 */
export const USAGE = `countersign — a Slack approval gateway for AI-agent actions

usage:
  countersign serve [--api-only|--worker-only]        run the API, the Slack app and the workers
  countersign demo [--url URL] [--wait SECONDS] [--tour]  play an agent against a running sandbox (npm run demo)
  countersign migrate                                  apply database migrations (DATABASE_URL)
  countersign agents create|list|set|rotate|revoke …   manage agent identities and their tokens
  countersign kill AGENT|--all                         the kill switch: suspend, revoke tokens, cancel work
  countersign resume AGENT                             lift the suspension
  countersign grants list|revoke …                     standing grants ("Approve this and similar")
  countersign admins create|list|revoke …              operator credentials for /v1/admin
  countersign policy eval|explain|test|lint|replay …   policy tools
  countersign policy rollout status|promote|rollback …  a candidate bundle in shadow, checkpoints, promotion
  countersign audit verify|show|export|anchor|verify-receipt|verify-report …  evidence: chain check, timelines,
                                                       SIEM export, anchors, receipts, drill reports
  countersign keys list|rotate                         receipt signing keys
  countersign review [--since 30d] [--out DIR]         periodic access and policy review (Markdown + CSV)
  countersign matrix [--out FILE]                      scope-and-approval matrix (CSV)
  countersign drill --instances URL,…                  tabletop exercises against a running deployment, signed report
  countersign config check|log                         validate countersign.yaml against the version in force; its log

Every command takes --help. Operator commands use DATABASE_URL when it is set; otherwise the embedded
database in COUNTERSIGN_DATA_DIR (default .countersign): through the running server when one holds it,
directly when none does.`;

export const SERVE_USAGE = `usage: countersign serve [--api-only|--worker-only] [--migrate false]
  Runs the API, the Slack app and the workers until SIGTERM/SIGINT.
  What is not configured is started for you: without DATABASE_URL an embedded PostgreSQL in
  COUNTERSIGN_DATA_DIR/pgdata, without REDIS_URL a private redis-server (needs redis-server on the PATH),
  without Slack credentials sandbox mode (an approval page at http://HOST:PORT/sandbox/).
  Environment: PORT (3000), HOST (127.0.0.1), LOG_FORMAT (pretty on a terminal, json otherwise), LOG_LEVEL.`;

export const DEMO_USAGE = `usage: countersign demo [--url URL] [--wait SECONDS] [--tour]   (npm run demo -- --url URL)
  Plays an agent against the sandbox at --url, else at http://HOST:PORT (PORT=3001 npm run demo), else one it
  starts: one allowed, one denied and one escalated action, then waits (600 s) for you to decide in the browser.
  --tour: approve with edits, rollback, standing grants and a budget that asks, one after the other.`;

export const MIGRATE_USAGE = `usage: countersign migrate
  Applies the migrations in drizzle/ to DATABASE_URL. The embedded database is migrated when it is opened.`;

export function isHelpFlag(a: string | undefined): boolean {
  return a === '--help' || a === '-h';
}

/**
 * Lines of a usage text about one subcommand, with the lines that continue them (all of it when none match).
 * `countersign audit verify` matches `verify`, `verify-receipt` and `verify-report` alike: close enough for help.
 */
function narrow(usage: string, command: string, sub: string | undefined): string {
  if (!sub) return usage;
  const kept: string[] = [];
  let keeping = false;
  for (const l of usage.split('\n')) {
    if (l.includes('countersign ')) keeping = l.includes(`countersign ${command} ${sub}`);
    if (keeping) kept.push(l.startsWith('  ') ? l : `  ${l.replace(/^usage: /, '')}`);
  }
  return kept.length ? `usage:\n${kept.join('\n')}` : usage;
}

/** The help for `command [sub]`, or null for a command that does not exist. */
export async function helpFor(command: string, sub: string | undefined): Promise<string | null> {
  switch (command) {
    case 'serve':
      return SERVE_USAGE;
    case 'demo':
      return DEMO_USAGE;
    case 'migrate':
      return MIGRATE_USAGE;
    case 'agents':
      return narrow((await import('./agents')).USAGE, command, sub);
    case 'admins':
      return narrow((await import('./admins')).USAGE, command, sub);
    case 'kill':
    case 'resume':
      return `usage:\n${(await import('./kill')).KILL_USAGE}`;
    case 'grants':
      return narrow(`usage:\n${(await import('./grants')).GRANTS_USAGE}`, command, sub);
    case 'audit':
      return narrow((await import('./audit')).USAGE, command, sub);
    case 'keys':
      return narrow((await import('./audit-keys')).USAGE, command, sub);
    case 'policy': {
      if (sub === 'rollout') return (await import('./rollout')).ROLLOUT_USAGE;
      const policy = await import('../policy/cli/index.ts');
      const subs: Record<string, string> = {
        eval: (await import('../policy/cli/eval.ts')).EVAL_USAGE,
        explain: (await import('../policy/cli/explain.ts')).EXPLAIN_USAGE,
        test: (await import('../policy/cli/test.ts')).TEST_USAGE,
        lint: (await import('../policy/cli/lint.ts')).LINT_USAGE,
        replay: (await import('../policy/cli/replay.ts')).REPLAY_USAGE,
      };
      return (sub && Object.hasOwn(subs, sub) ? subs[sub]! : policy.POLICY_USAGE).trimEnd();
    }
    case 'review':
    case 'matrix':
      return (await import('./review')).REVIEW_USAGE;
    case 'config':
      return narrow((await import('./config')).CONFIG_USAGE, command, sub);
    case 'drill':
      return (await import('./drill')).DRILL_USAGE;
    default:
      return null;
  }
}
