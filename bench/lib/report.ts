import type { IntakeResult, SideSummary } from '../intake';
import type { ApprovalLatencyResult } from '../approval-latency';
import type { ReleaseResult } from '../release';
import type { Spread } from './stats';

type Report = { generated_at: string; duration_s: number; mode: string; machine: Record<string, unknown>; benchmarks: Record<string, unknown> };

const num = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d });
const met = (ok: boolean) => (ok ? '✅ met' : '❌ missed');
const failed = (b: unknown): b is { error: string } => !!b && typeof b === 'object' && 'error' in b;
/** "median (lowest–highest)" over the rounds. */
const sp = (s: Spread, d = 2) => (s.min === s.max ? num(s.median, d) : `${num(s.median, d)} (${num(s.min, d)}–${num(s.max, d)})`);
const cpu = (s: SideSummary) =>
  `app ${sp(s.cpu_ms_per_request.app)} · pg ${sp(s.cpu_ms_per_request.postgres)} · redis ${sp(s.cpu_ms_per_request.redis)} ms CPU/req (event loop ${sp(s.cpu_ms_per_request.app_event_loop)})`;

/** The goal tables of bench/results.md: each goal, its figure over interleaved rounds (median and spread), and whether it was met. */
export function renderMarkdown(report: Report, externalOutput: Record<string, string>): string {
  const b = report.benchmarks;
  const goals: string[][] = [];
  const detail: string[][] = [];
  const intake = b.intake as IntakeResult | { error: string } | undefined;
  if (failed(intake)) goals.push(['intake (allow path)', 'failed', '', '', intake.error.split('\n')[0]!]);
  else if (intake) {
    const g = intake.goals;
    for (const l of intake.levels) {
      const clients = `${l.concurrency} client${l.concurrency > 1 ? 's' : ''}`;
      const judged = g.at_concurrency.includes(l.concurrency);
      const errors = l.countersign.errors + l.records_floor.errors;
      goals.push([
        `intake ÷ records floor, ${clients}`,
        `${sp(l.ratio_to_floor)}`,
        `${num(l.countersign.throughput_per_s.median)} ÷ ${num(l.records_floor.throughput_per_s.median)} req/s${errors ? ` · ${errors} errors` : ''}`,
        judged ? `≥ ${g.ratio_to_floor_min}` : '—',
        judged ? met(l.ratio_to_floor.median >= g.ratio_to_floor_min && errors === 0) : 'reported',
      ]);
    }
    for (const l of intake.levels.filter((x) => g.at_concurrency.includes(x.concurrency))) {
      goals.push([
        `intake app CPU per allowed request, ${l.concurrency} clients`,
        `${sp(l.countersign.cpu_ms_per_request.app, 3)} ms`,
        `event loop ${sp(l.countersign.cpu_ms_per_request.app_event_loop, 3)} ms; the floor's app ${sp(l.records_floor.cpu_ms_per_request.app, 3)} ms`,
        `≤ ${g.app_cpu_ms_per_request_max} ms`,
        met(l.countersign.cpu_ms_per_request.app.median <= g.app_cpu_ms_per_request_max),
      ]);
    }
    const at = intake.levels.find((l) => l.concurrency === g.p99_at_concurrency);
    if (at) {
      goals.push([`intake p99 latency, ${at.concurrency} clients`, `${sp(at.countersign.p99_ms, 1)} ms`, `p50 ${sp(at.countersign.p50_ms, 1)} ms`, `< ${g.p99_ms_max} ms`, met(at.countersign.p99_ms.median < g.p99_ms_max)]);
    }
    for (const l of intake.levels) {
      for (const [label, s] of [
        ['Countersign (allow path)', l.countersign],
        ['records floor', l.records_floor],
        ['raw INSERT (reference)', l.raw_insert],
      ] as const) {
        detail.push([`${l.concurrency}`, label, `${sp(s.throughput_per_s, 0)} req/s`, `${sp(s.p50_ms, 1)} / ${sp(s.p99_ms, 1)} ms`, cpu(s)]);
      }
      detail.push([`${l.concurrency}`, '↳ floor ÷ raw INSERT', sp(l.floor_to_insert), '', 'what the evidence costs the database']);
    }
    for (const p of intake.prepare ?? []) {
      detail.push([`${p.concurrency}`, 'allow path with an executor prepare step (issue #14)', `${sp(p.with_prepare, 0)} req/s`, '', `${sp(p.without, 0)} req/s without; ratio ${sp(p.ratio)}`]);
    }
  }
  const approval = b.approval_latency as ApprovalLatencyResult | { error: string } | undefined;
  if (failed(approval)) goals.push(['approval latency', 'failed', '', '', approval.error.split('\n')[0]!]);
  else if (approval) {
    for (const [label, f] of [
      ['escalation → card posted', approval.escalation_to_card],
      ['approval click → executor call', approval.click_to_executor],
    ] as const) {
      goals.push([label, `p50 ${num(f.p50_ms)} ms`, `p99 ${num(f.p99_ms)} ms (n = ${f.requests})`, `p50 < ${f.target_p50_ms} ms`, met(f.p50_ms < f.target_p50_ms)]);
    }
  }
  const release = b.release as ReleaseResult | { error: string } | undefined;
  if (failed(release)) goals.push(['release ÷ plain BullMQ', 'failed', '', '', release.error.split('\n')[0]!]);
  else if (release) {
    goals.push([
      `release ÷ plain BullMQ, same HTTP client (concurrency ${release.worker_concurrency})`,
      sp(release.ratio),
      `${num(release.countersign.throughput_per_s.median)} ÷ ${num(release.baseline.throughput_per_s.median)} jobs/s`,
      `≥ ${release.goal_ratio}`,
      met(release.ratio.median >= release.goal_ratio),
    ]);
    goals.push(
      ['release ÷ release floor (its records alone)', sp(release.ratio_to_floor), `${num(release.countersign.throughput_per_s.median)} ÷ ${num(release.floor.throughput_per_s.median)} jobs/s`, '—', 'reported'],
      ['↳ release floor ÷ plain BullMQ', sp(release.floor_to_plain), `${num(release.floor.throughput_per_s.median)} ÷ ${num(release.baseline.throughput_per_s.median)} jobs/s`, '—', 'what the release\'s records cost'],
      ['↳ plain BullMQ + one INSERT per job ÷ plain BullMQ', sp(release.insert_to_plain), `${num(release.plain_insert.throughput_per_s.median)} ÷ ${num(release.baseline.throughput_per_s.median)} jobs/s`, '—', 'what any database write per job costs'],
    );
    for (const [label, s] of [
      ['Countersign commit worker', release.countersign],
      ['release floor (records only)', release.floor],
      ['plain BullMQ worker', release.baseline],
      ['plain BullMQ + one INSERT per job (reference)', release.plain_insert],
    ] as const) {
      detail.push([
        'release',
        label,
        `${sp(s.throughput_per_s, 0)} jobs/s`,
        `${release.jobs_per_round.join(' / ')} jobs`,
        `app ${sp(s.cpu_ms_per_job.app)} · pg ${sp(s.cpu_ms_per_job.postgres)} · redis ${sp(s.cpu_ms_per_job.redis)} ms CPU/job (event loop ${sp(s.cpu_ms_per_job.app_event_loop)})`,
      ]);
    }
  }
  const m = report.machine;
  const sections = [
    `# Benchmark results`,
    '',
    `${report.generated_at} · ${report.mode} run in ${report.duration_s} s · Node ${m.node} · ${m.cpus} × ${m.cpu} · load average ${(m.load_average_at_start_and_end as string[]).join(' → ')} (1 min, at start and end)`,
    '',
    'Figures are medians over interleaved rounds, with the lowest and highest round in brackets; ratios are per round.',
    '',
    '| goal | ratio or figure | from | target | result |',
    '| --- | --- | --- | --- | --- |',
    ...goals.map((r) => `| ${r.join(' | ')} |`),
    '',
  ];
  if (detail.length) {
    sections.push(
      '### Each side',
      '',
      '| clients | side | throughput | p50 / p99 | CPU per request (/proc) |',
      '| --- | --- | --- | --- | --- |',
      ...detail.map((r) => `| ${r.join(' | ')} |`),
      '',
    );
  }
  if (intake && !failed(intake)) sections.push(`Countersign logged ${num(intake.log.lines, 0)} lines (${num(intake.log.bytes / 1024 / 1024, 1)} MiB) during the intake run at log level ${intake.log.level}.`, '');
  if (release && !failed(release)) {
    sections.push(
      `Release outcomes (every action created, warm-up included): ${Object.entries(release.outcomes).map(([k, v]) => `${k} ${num(v, 0)}`).join(', ')}; executor calls from Countersign ${num(release.executor.countersign_calls, 0)} (and ${num(release.executor.floor_calls, 0)} from the release floor, ${num(release.executor.plain_calls, 0)} from the plain workers); actions with more than one effect: ${release.executor.actions_with_more_than_one_effect}.`,
      '',
    );
  }
  for (const name of Object.keys(externalOutput)) {
    const result = b[name];
    sections.push(`## ${name} (bench/${name}.ts)`, '');
    if (failed(result)) sections.push('```', result.error.slice(0, 1500), '```', '');
    else sections.push('```', externalOutput[name]!.trim(), '```', '', `Figures: bench/results-${name}.json, merged into bench/results.json under \`benchmarks.${name}\`.`, '');
  }
  sections.push('How each figure is measured: docs/benchmarks.md. Raw figures: bench/results.json.', '');
  return sections.join('\n');
}
