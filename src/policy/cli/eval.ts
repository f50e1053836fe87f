import { parseCommandArgs } from './args.ts';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type PolicyCliIo } from './io.ts';
import { loadBundleForCli } from './load-bundle.ts';
import { readPolicyInput } from './read-input.ts';

export const EVAL_USAGE = 'usage: countersign policy eval --policies DIR --input FILE|-\n';

/** Prints the decision as JSON. A deny is a successful evaluation: exit 0. */
export async function runPolicyEval(argv: string[], io: PolicyCliIo): Promise<number> {
  const args = parseCommandArgs(argv, { policies: { type: 'string' }, input: { type: 'string' } });
  if (!args.ok || !args.values.input || args.positionals.length > 0) {
    io.stderr(`${args.ok ? (args.positionals.length > 0 ? `unexpected argument ${args.positionals[0]}` : '--input is required') : args.message}\n${EVAL_USAGE}`);
    return EXIT_USAGE;
  }
  const input = await readPolicyInput(args.values.input, io);
  if (!input.ok) {
    io.stderr(`${input.message}\n`);
    return EXIT_USAGE;
  }
  const bundle = await loadBundleForCli(args.values.policies ?? 'policies', io);
  if (!bundle) return EXIT_FAILURE;
  io.stdout(`${JSON.stringify(bundle.evaluate(input.input), null, 2)}\n`);
  return EXIT_OK;
}
