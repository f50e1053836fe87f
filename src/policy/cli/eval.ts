import { readDecisionRequest } from './decision-request.ts';
import { EXIT_OK, type PolicyCliIo } from './io.ts';

export const EVAL_USAGE = 'usage: countersign policy eval --policies DIR --input FILE|-\n';

/** Prints the decision as JSON. A deny is a successful evaluation: exit 0. */
export async function runPolicyEval(argv: string[], io: PolicyCliIo): Promise<number> {
  const request = await readDecisionRequest(argv, io, EVAL_USAGE);
  if (typeof request === 'number') return request;
  io.stdout(`${JSON.stringify(request.bundle.evaluate(request.input), null, 2)}\n`);
  return EXIT_OK;
}
