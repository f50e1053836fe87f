import { replayDecisionsAsync, type ReplayReport } from '../replay.ts';
import { parseCommandArgs } from './args.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type PolicyCliIo } from './io.ts';
import { loadBundleForCli } from './load-bundle.ts';
import { formatTable } from './table.ts';

export const REPLAY_USAGE = 'usage: countersign policy replay DIR --since 30d|12h|2025-01-31 [--examples N] [--json] [--fail-on-change]\n';

/** `30d`, `12h`, `45m` back from now, or an absolute ISO date; null when neither. */
export function parseSince(text: string, now: Date): Date | null {
  const relative = /^(\d+)([dhm])$/.exec(text);
  if (relative) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[relative[2] as 'd' | 'h' | 'm'];
    return new Date(now.getTime() - Number(relative[1]) * unit);
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return null;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Re-decides recorded traffic with a candidate bundle and reports what would change. */
export async function runPolicyReplay(argv: string[], io: PolicyCliIo): Promise<number> {
  const args = parseCommandArgs(argv, {
    since: { type: 'string' },
    examples: { type: 'string' },
    json: { type: 'boolean' },
    'fail-on-change': { type: 'boolean' },
  });
  if (!args.ok || args.positionals.length > 1 || !args.values.since) {
    io.stderr(`${!args.ok ? args.message : !args.values.since ? '--since is required' : 'expected one directory'}\n${REPLAY_USAGE}`);
    return EXIT_USAGE;
  }
  const since = parseSince(args.values.since, io.now?.() ?? new Date());
  const examples = args.values.examples === undefined ? 3 : Number(args.values.examples);
  if (!since || !Number.isInteger(examples) || examples < 0) {
    io.stderr(`${!since ? `bad --since ${args.values.since}` : `bad --examples ${args.values.examples}`}\n${REPLAY_USAGE}`);
    return EXIT_USAGE;
  }
  if (!io.loadRecorded) {
    io.stderr('policy replay needs recorded decisions from the database; run it through `countersign policy replay`, which connects to it\n');
    return EXIT_USAGE;
  }
  const bundle = await loadBundleForCli(args.positionals[0] ?? 'policies', io);
  if (!bundle) return EXIT_FAILURE;
  const report = await replayDecisionsAsync(bundle, io.loadRecorded(since), examples);
  io.stdout(args.values.json ? `${JSON.stringify(report, null, 2)}\n` : renderReplay(report, since));
  return args.values['fail-on-change'] && report.decision_changed > 0 ? EXIT_FAILURE : EXIT_OK;
}

export function renderReplay(report: ReplayReport, since: Date): string {
  const lines = [
    `candidate ${report.candidate_version} against ${report.total} decision(s) since ${since.toISOString()}`,
    `unchanged: ${report.unchanged}; decision would change: ${report.decision_changed}; same decision, different rule: ${report.rule_changed}`,
  ];
  if (report.without_timestamp > 0) {
    lines.push(`note: ${report.without_timestamp} record(s) had no timestamp; time windows were judged at replay time`);
  }
  let out = `${lines.join('\n')}\n`;
  if (report.changes.length === 0) return out;
  out += `\n${formatTable(
    ['count', 'recorded', 'candidate'],
    report.changes.map((change) => [
      String(change.count),
      `${change.from_decision} by ${change.from_rule ?? '(no rule)'}`,
      `${change.to_decision} by ${change.to_rule ?? '(no rule)'}`,
    ]),
  )}`;
  for (const change of report.changes) {
    out += `\n${change.from_decision} by ${change.from_rule ?? '(no rule)'} -> ${change.to_decision} by ${change.to_rule ?? '(no rule)'}:\n`;
    for (const example of change.examples) out += `  ${example.action_id} ${example.action_class}: ${example.to.reasoning}\n`;
  }
  return out;
}
