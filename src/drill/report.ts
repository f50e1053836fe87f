/** One checked step of an exercise, with the evidence (audit event ids) that proves it. */
export type DrillStep = {
  name: string;
  passed: boolean;
  /** What was observed, in a sentence. */
  detail: string;
  /** Audit event ids that record this step; empty where the gateway records nothing (then `gap` says so). */
  evidence: string[];
  gap?: string;
  /** Milliseconds from the start of the exercise. */
  at_ms: number;
};

export type DrillExercise = {
  name: 'bad-tool-call' | 'runaway-loop' | 'permission-failure' | 'kill-switch';
  title: string;
  passed: boolean;
  duration_ms: number;
  steps: DrillStep[];
  /** Measurements the exercise exists for (e.g. time from kill to refusal per instance). */
  measurements: Record<string, unknown>;
};

export type DrillReport = {
  typ: 'countersign.drill-report';
  v: 1;
  drill_id: string;
  started_at: string;
  finished_at: string;
  operator: string;
  instances: string[];
  agents: string[];
  passed: boolean;
  exercises: DrillExercise[];
  /** The `drill.completed` audit event that records this run (its data carries the exercise results). */
  completed_event: string | null;
};

const ms = (n: unknown) => (typeof n === 'number' ? `${n} ms` : String(n));

/** The report for people: per exercise a pass/fail line, each step with its evidence, then the measurements. */
export function drillMarkdown(r: DrillReport): string {
  const out: string[] = [];
  out.push(`# Countersign drill ${r.drill_id}: ${r.passed ? 'PASSED' : 'FAILED'}`);
  out.push('');
  out.push(`Run by ${r.operator} from ${r.started_at} to ${r.finished_at} against ${r.instances.join(', ')} with drill agents ${r.agents.join(', ')}.`);
  out.push(`Evidence of the run: audit event \`${r.completed_event ?? '(not recorded)'}\`. Verify this report offline: \`countersign audit verify-report FILE --keys KEYS\`.`);
  out.push('');
  out.push('| exercise | result | duration |');
  out.push('|---|---|---|');
  for (const e of r.exercises) out.push(`| ${e.title} | ${e.passed ? 'pass' : '**FAIL**'} | ${ms(e.duration_ms)} |`);
  for (const e of r.exercises) {
    out.push('');
    out.push(`## ${e.title}: ${e.passed ? 'pass' : 'FAIL'}`);
    out.push('');
    for (const s of e.steps) {
      const ev = s.evidence.length ? ` Evidence: ${s.evidence.map((id) => `\`${id}\``).join(', ')}.` : '';
      out.push(`- ${s.passed ? '✅' : '❌'} **${s.name}** (+${s.at_ms} ms): ${s.detail}${ev}${s.gap ? ` _Gap: ${s.gap}_` : ''}`);
    }
    const m = Object.entries(e.measurements);
    if (m.length) {
      out.push('');
      out.push('Measured:');
      for (const [k, v] of m) out.push(`- ${k}: ${typeof v === 'object' && v !== null ? `\`${JSON.stringify(v)}\`` : k.endsWith('_ms') ? ms(v) : String(v)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
