import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFileConfig } from '../config/file-config';
import { parseDuration } from '../policy/duration';
import { signDocument } from '../receipts';
import { DrillSetupError, EXERCISES, runDrill, type ExerciseName } from '../drill/run';
import { drillMarkdown } from '../drill/report';
import { parseFlags, type CliIo } from './io';
import { withOperatorDb } from './operator-db';

export const DRILL_USAGE = `usage:
  countersign drill --instances URL[,URL…] [--exercises ${Object.keys(EXERCISES).join(',')}]
                    [--approval-timeout 10m] [--config FILE] [--out DIR] [--json]
      runs the tabletop exercises against a running deployment (docs/runbook.md, "Drills") and writes a
      signed report (drill-report.json, verify with \`countersign audit verify-report\`) and drill-report.md`;

const str = (v: string | true | undefined) => (typeof v === 'string' ? v : undefined);

/** `countersign drill`: exit 0 when every exercise passed, 1 when one failed or the drill could not start, 2 on usage. */
export async function runDrillCommand(argv: string[], io: CliIo, operator: string): Promise<number> {
  const { flags } = parseFlags(argv);
  const instances = (str(flags.instances) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const exercises = (str(flags.exercises) ?? Object.keys(EXERCISES).join(',')).split(',').map((s) => s.trim()) as ExerciseName[];
  const approvalSeconds = parseDuration(str(flags['approval-timeout']) ?? '10m');
  const badUrl = instances.find((u) => !/^https?:\/\/[^/]+/.test(u));
  const badExercise = exercises.find((e) => !(e in EXERCISES));
  if (instances.length === 0 || badUrl || badExercise || approvalSeconds === null) {
    io.stderr(`${badUrl ? `not an instance URL: ${badUrl}\n` : ''}${badExercise ? `no exercise ${badExercise}\n` : ''}${DRILL_USAGE}`);
    return 2;
  }
  return withOperatorDb(io, async (handle, env) => {
    const config = str(flags.config) ? loadFileConfig(str(flags.config)!) : (io.context?.config ?? loadFileConfig(env.COUNTERSIGN_CONFIG));
    let report;
    try {
      report = await runDrill({ db: handle.db, config, instances, operator, exercises, approvalTimeoutMs: approvalSeconds * 1000, log: (l) => io.stderr(l) });
    } catch (e) {
      if (!(e instanceof DrillSetupError)) throw e;
      io.stderr(`drill not started: ${e.message}`);
      return 1;
    }
    const signed = await signDocument(handle.db, report as unknown as Record<string, unknown>, { passphrase: env.COUNTERSIGN_RECEIPT_KEY_PASSPHRASE });
    // Through the admin channel the server writes it, into the operator's working directory.
    const dir = str(flags.out) ?? join(io.context?.cwd ?? '.', 'drill-reports', report.drill_id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'drill-report.json'), `${JSON.stringify(signed, null, 2)}\n`);
    writeFileSync(join(dir, 'drill-report.md'), drillMarkdown(report));
    io.stdout(flags.json ? JSON.stringify(signed) : drillMarkdown(report));
    io.stderr(`report written to ${join(dir, 'drill-report.json')} (signed, key ${signed.kid}) and ${join(dir, 'drill-report.md')}`);
    return report.passed ? 0 : 1;
  }, { max: 4, applicationName: 'countersign-drill' });
}
