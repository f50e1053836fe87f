import { formatPolicyError } from '../errors.ts';
import { readPolicyFiles } from '../loader.ts';
import { runTestFiles } from '../testing/run-cases.ts';
import { parseCommandArgs } from './args.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type PolicyCliIo } from './io.ts';
import { loadBundleForCli } from './load-bundle.ts';
import { formatTable } from './table.ts';

export const TEST_USAGE = 'usage: countersign policy test DIR [--require-coverage]\n';

const isTestFile = (name: string) => !name.startsWith('.') && /\.test\.ya?ml$/.test(name);

/** Runs the `*.test.yaml` cases beside the policies; exits 1 on any failure, as `opa test` does. */
export async function runPolicyTest(argv: string[], io: PolicyCliIo): Promise<number> {
  const args = parseCommandArgs(argv, { 'require-coverage': { type: 'boolean' } });
  if (!args.ok || args.positionals.length > 1) {
    io.stderr(`${args.ok ? 'expected one directory' : args.message}\n${TEST_USAGE}`);
    return EXIT_USAGE;
  }
  const dir = args.positionals[0] ?? 'policies';
  const bundle = await loadBundleForCli(dir, io);
  if (!bundle) return EXIT_FAILURE;
  const testFiles = await readPolicyFiles(dir, isTestFile);
  if (!testFiles.ok) {
    for (const error of testFiles.errors) io.stderr(`${formatPolicyError(error)}\n`);
    return EXIT_FAILURE;
  }
  if (testFiles.files.length === 0) {
    io.stderr(`no test files (*.test.yaml) in ${dir}: nothing was tested\n`);
    return EXIT_FAILURE;
  }
  const run = runTestFiles(bundle, testFiles.files);
  for (const error of run.errors) io.stderr(`${formatPolicyError(error)}\n`);
  const rows = run.results.map((result) => [
    result.passed ? 'PASS' : 'FAIL',
    `${result.file}:${result.line}`,
    result.name,
    result.expected,
    result.got,
  ]);
  if (rows.length > 0) io.stdout(formatTable(['result', 'case', 'name', 'expected', 'got'], rows));
  for (const result of run.results.filter((r) => !r.passed)) {
    io.stdout(`\nFAIL ${result.name} (${result.file}:${result.line})\n${result.problems.map((p) => `  ${p}\n`).join('')}`);
  }
  const coverage = bundle.ruleCount - run.uncovered.length;
  io.stdout(`\n${run.passed} passed, ${run.failed} failed\n`);
  io.stdout(`rules decided by a passing case: ${coverage}/${bundle.ruleCount}${run.uncovered.length > 0 ? ` (not covered: ${run.uncovered.join(', ')})` : ''}\n`);
  const coverageFailed = args.values['require-coverage'] === true && run.uncovered.length > 0;
  return run.failed > 0 || run.errors.length > 0 || coverageFailed ? EXIT_FAILURE : EXIT_OK;
}
