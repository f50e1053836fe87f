import type { PolicyBundle } from '../bundle.ts';
import type { PolicyInput } from '../contract.ts';
import { parseCommandArgs } from './args.ts';
import { EXIT_FAILURE, EXIT_USAGE, type PolicyCliIo } from './io.ts';
import { loadBundleForCli } from './load-bundle.ts';
import { readPolicyInput } from './read-input.ts';

export type DecisionRequest = { bundle: PolicyBundle; input: PolicyInput; json: boolean };

/**
 * The shared front of `eval` and `explain`: `--policies DIR --input FILE|-` (and `--json` where offered),
 * the input read and validated, the bundle loaded. Returns the exit code to stop with, after saying why.
 */
export async function readDecisionRequest(
  argv: string[],
  io: PolicyCliIo,
  usage: string,
  opts: { json?: boolean } = {},
): Promise<DecisionRequest | number> {
  const args = parseCommandArgs(argv, {
    policies: { type: 'string' },
    input: { type: 'string' },
    ...(opts.json ? { json: { type: 'boolean' as const } } : {}),
  });
  if (!args.ok || !args.values.input || args.positionals.length > 0) {
    io.stderr(`${args.ok ? (args.positionals.length > 0 ? `unexpected argument ${args.positionals[0]}` : '--input is required') : args.message}\n${usage}`);
    return EXIT_USAGE;
  }
  const input = await readPolicyInput(args.values.input, io);
  if (!input.ok) {
    io.stderr(`${input.message}\n`);
    return EXIT_USAGE;
  }
  const bundle = await loadBundleForCli(args.values.policies ?? 'policies', io);
  if (!bundle) return EXIT_FAILURE;
  return { bundle, input: input.input, json: (args.values as { json?: boolean }).json === true };
}
