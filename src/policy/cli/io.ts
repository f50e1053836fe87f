import type { RecordedDecision } from '../replay.ts';

/** Everything a policy command touches besides the policy directory, so tests can drive it. */
export type PolicyCliIo = {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  readStdin: () => Promise<string>;
  /** Supplied by the main CLI, which owns the database; `policy replay` cannot run without it. */
  loadRecorded?: (since: Date) => AsyncIterable<RecordedDecision> | Iterable<RecordedDecision>;
  /** The clock `--since 30d` counts back from. */
  now?: () => Date;
};

export const EXIT_OK = 0;
/** The command ran and found a problem: invalid bundle, failing test, lint error. */
export const EXIT_FAILURE = 1;
/** The command could not run as asked: bad arguments, unreadable input, missing capability. */
export const EXIT_USAGE = 2;
