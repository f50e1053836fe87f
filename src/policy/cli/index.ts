import { runPolicyEval } from './eval.ts';
import { runPolicyExplain } from './explain.ts';
import { EXIT_OK, EXIT_USAGE, type PolicyCliIo } from './io.ts';
import { runPolicyLint } from './lint.ts';
import { runPolicyReplay } from './replay.ts';
import { runPolicyTest } from './test.ts';

export type { PolicyCliIo } from './io.ts';
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './io.ts';
export { runPolicyEval, runPolicyExplain, runPolicyLint, runPolicyReplay, runPolicyTest };

export const POLICY_USAGE = `usage: countersign policy <command>
  eval    --policies DIR --input FILE|-      print the decision as JSON
  explain --policies DIR --input FILE|-      every matching rule, its conditions, and why the winner won
  test    DIR [--require-coverage]           run the *.test.yaml cases beside the policies
  lint    DIR [--strict] [--json]            shadowed rules, broad allows, allow/escalate overlaps
  replay  DIR --since 30d [--json]           what a candidate bundle would change on recorded traffic
  rollout status|promote|rollback …          a candidate bundle in shadow, checkpoints, promotion
`;

const commands: Record<string, (argv: string[], io: PolicyCliIo) => Promise<number>> = {
  eval: runPolicyEval,
  explain: runPolicyExplain,
  test: runPolicyTest,
  lint: runPolicyLint,
  replay: runPolicyReplay,
};

/** Entry point for `countersign policy …`; argv starts after the word "policy". */
export async function runPolicyCommand(argv: string[], io: PolicyCliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout)(POLICY_USAGE);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    io.stderr(`unknown policy command "${name}"\n${POLICY_USAGE}`);
    return EXIT_USAGE;
  }
  return command(rest, io);
}
