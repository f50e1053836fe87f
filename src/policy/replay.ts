import type { PolicyBundle } from './bundle.ts';
import type { DecisionName, PolicyInput } from './contract.ts';

/** One decision as it was recorded: the input the engine saw and what it said. */
export type RecordedDecision = {
  action_id: string;
  input: PolicyInput;
  decision: DecisionName;
  rule_id: string | null;
};

export type ReplayExample = {
  action_id: string;
  action_class: string;
  from: { decision: DecisionName; rule_id: string | null };
  to: { decision: DecisionName; rule_id: string | null; reasoning: string };
};

/** One kind of change, e.g. "escalate by escalate-x → deny by deny-y", with how often and examples. */
export type ReplayChange = {
  from_decision: DecisionName;
  from_rule: string | null;
  to_decision: DecisionName;
  to_rule: string | null;
  count: number;
  examples: ReplayExample[];
};

export type ReplayReport = {
  candidate_version: string;
  total: number;
  unchanged: number;
  /** Records whose decision would change (allow ↔ escalate ↔ deny). */
  decision_changed: number;
  /** Same decision, but a different rule (and so different reasoning) would give it. */
  rule_changed: number;
  /** Records without `input.now`: time windows were judged at replay time, not request time. */
  without_timestamp: number;
  /** Counts by transition, largest first; decision changes before rule-only changes. */
  changes: ReplayChange[];
};

export const DEFAULT_EXAMPLES_PER_CHANGE = 3;

/** Accumulates a replay one record at a time, so a month of traffic never sits in memory. */
export class ReplayAccumulator {
  private total = 0;
  private unchanged = 0;
  private withoutTimestamp = 0;
  private readonly changes = new Map<string, ReplayChange>();

  constructor(
    private readonly candidate: PolicyBundle,
    private readonly examplesPerChange = DEFAULT_EXAMPLES_PER_CHANGE,
  ) {}

  add(record: RecordedDecision): void {
    this.total++;
    if (record.input.now === undefined) this.withoutTimestamp++;
    const next = this.candidate.evaluate(record.input);
    if (next.decision === record.decision && next.rule_id === record.rule_id) {
      this.unchanged++;
      return;
    }
    const key = JSON.stringify([record.decision, record.rule_id, next.decision, next.rule_id]);
    let change = this.changes.get(key);
    if (!change) {
      change = { from_decision: record.decision, from_rule: record.rule_id, to_decision: next.decision, to_rule: next.rule_id, count: 0, examples: [] };
      this.changes.set(key, change);
    }
    change.count++;
    if (change.examples.length < this.examplesPerChange) {
      change.examples.push({
        action_id: record.action_id,
        action_class: record.input.action_class,
        from: { decision: record.decision, rule_id: record.rule_id },
        to: { decision: next.decision, rule_id: next.rule_id, reasoning: next.reasoning },
      });
    }
  }

  report(): ReplayReport {
    const changes = [...this.changes.values()].sort(
      (a, b) => Number(isRuleOnly(a)) - Number(isRuleOnly(b)) || b.count - a.count,
    );
    const ruleChanged = changes.filter(isRuleOnly).reduce((sum, change) => sum + change.count, 0);
    return {
      candidate_version: this.candidate.version,
      total: this.total,
      unchanged: this.unchanged,
      decision_changed: this.total - this.unchanged - ruleChanged,
      rule_changed: ruleChanged,
      without_timestamp: this.withoutTimestamp,
      changes,
    };
  }
}

function isRuleOnly(change: ReplayChange): boolean {
  return change.from_decision === change.to_decision;
}

/** Evaluates a candidate bundle against recorded decisions and reports what would change. */
export function replayDecisions(candidate: PolicyBundle, recorded: Iterable<RecordedDecision>, examplesPerChange?: number): ReplayReport {
  const replay = new ReplayAccumulator(candidate, examplesPerChange);
  for (const record of recorded) replay.add(record);
  return replay.report();
}

export async function replayDecisionsAsync(
  candidate: PolicyBundle,
  recorded: AsyncIterable<RecordedDecision> | Iterable<RecordedDecision>,
  examplesPerChange?: number,
): Promise<ReplayReport> {
  const replay = new ReplayAccumulator(candidate, examplesPerChange);
  for await (const record of recorded) replay.add(record);
  return replay.report();
}
