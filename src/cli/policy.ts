import { connectDb } from '../db/client';
import { runPolicyCommand, type RecordedDecision } from '../policy';
import type { CliIo } from './io';
import { storedPolicyInput } from '../release';
import { withOperatorDb } from './operator-db';

type RecordedRow = {
  id: string;
  action_class: string;
  context: Record<string, unknown>;
  params: Record<string, unknown>;
  facts: Record<string, unknown> | null;
  decision: RecordedDecision['decision'];
  rule_id: string | null;
  created_at: Date;
};

/**
 * `countersign policy …`: the policy tools, with `replay` fed from the actions recorded in Postgres,
 * streamed with a server-side cursor so a month of traffic replays in constant memory.
 */
export async function runPolicyCli(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] !== 'replay') return runPolicyCommand(argv, io);
  return withOperatorDb(io, (handle) =>
    runPolicyCommand(argv, {
      ...io,
      loadRecorded: (since) => recordedSince(handle.sql, since),
    }),
  );
}

export async function* recordedSince(sql: ReturnType<typeof connectDb>['sql'], since: Date): AsyncIterable<RecordedDecision> {
  const cursor = sql<RecordedRow[]>`
    select id, action_class, context, params, facts, decision, rule_id, created_at
    from actions where created_at >= ${since.toISOString()}::timestamptz order by created_at`.cursor(500);
  for await (const rows of cursor) {
    for (const r of rows) {
      yield {
        action_id: r.id,
        // The original request time, so time-window conditions replay as they were decided.
        // With the facts recorded when it was decided (plan, agent, requester, usage).
        input: { ...storedPolicyInput({ actionClass: r.action_class, params: r.params, context: r.context, facts: r.facts }), now: r.created_at },
        decision: r.decision,
        rule_id: r.rule_id,
      };
    }
  }
}
