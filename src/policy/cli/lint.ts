import { lintBundle } from '../lint.ts';
import { parseCommandArgs } from './args.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type PolicyCliIo } from './io.ts';
import { loadBundleForCli } from './load-bundle.ts';

export const LINT_USAGE = 'usage: countersign policy lint DIR [--strict] [--json]\n';

/** Validation errors exit 1; warnings are printed and exit 0 unless --strict. */
export async function runPolicyLint(argv: string[], io: PolicyCliIo): Promise<number> {
  const args = parseCommandArgs(argv, { strict: { type: 'boolean' }, json: { type: 'boolean' } });
  if (!args.ok || args.positionals.length > 1) {
    io.stderr(`${args.ok ? 'expected one directory' : args.message}\n${LINT_USAGE}`);
    return EXIT_USAGE;
  }
  const dir = args.positionals[0] ?? 'policies';
  const bundle = await loadBundleForCli(dir, io);
  if (!bundle) return EXIT_FAILURE;
  const warnings = lintBundle(bundle);
  if (args.values.json) io.stdout(`${JSON.stringify({ version: bundle.version, warnings }, null, 2)}\n`);
  else {
    for (const warning of warnings) io.stdout(`${warning.file}:${warning.line}:${warning.column}: warning: ${warning.rule_id}: ${warning.message} [${warning.code}]\n`);
    io.stdout(`${bundle.ruleCount} rules in ${bundle.files.length} file(s), ${warnings.length} warning(s)\n`);
  }
  return warnings.length > 0 && args.values.strict ? EXIT_FAILURE : EXIT_OK;
}
