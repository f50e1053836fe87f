import type { IntakeResult } from '../intake';
import type { ApprovalLatencyResult } from '../approval-latency';
import type { ReleaseResult } from '../release';

type Report = { generated_at: string; duration_s: number; mode: string; machine: Record<string, unknown>; benchmarks: Record<string, unknown> };

const num = (n: number, d = 1) => n.toLocaleString('en-US', { maximumFractionDigits: d });
const met = (ok: boolean) => (ok ? '✅ met' : '❌ missed');
const failed = (b: unknown): b is { error: string } => !!b && typeof b === 'object' && 'error' in b;

/** The markdown table of bench/results.md: Countersign against its baseline, the target, and whether it was met. */
export function renderMarkdown(report: Report, externalOutput: Record<string, string>): string {
  const rows: string[][] = [];
  const b = report.benchmarks;
  const intake = b.intake as IntakeResult | { error: string } | undefined;
  if (failed(intake)) rows.push(['intake (allow path)', 'failed', '', '', '', intake.error.split('\n')[0]!]);
  else if (intake) {
    for (const l of intake.levels) {
      rows.push([
        `intake, allow path, ${l.concurrency} client${l.concurrency > 1 ? 's' : ''}`,
        `${num(l.countersign.throughput_per_s)} req/s · p50 ${num(l.countersign.p50_ms, 2)} ms · p99 ${num(l.countersign.p99_ms, 2)} ms · ${num(l.countersign.event_loop_ms_per_request, 2)} ms event loop/req${l.countersign.errors ? ` · ${l.countersign.errors} errors` : ''}`,
        `${num(l.baseline.throughput_per_s)} INSERT/s · p50 ${num(l.baseline.p50_ms, 2)} ms · p99 ${num(l.baseline.p99_ms, 2)} ms · ${num(l.baseline.event_loop_ms_per_request, 2)} ms event loop/insert`,
        num(l.ratio, 2),
        `≥ ${intake.target_ratio}`,
        met(l.ratio >= intake.target_ratio && l.countersign.errors === 0),
      ]);
    }
    for (const l of intake.levels) {
      rows.push([
        `↳ reference: the allow path's records alone, ${l.concurrency} client${l.concurrency > 1 ? 's' : ''}`,
        `${num(l.records_only.throughput_per_s)} actions/s · p50 ${num(l.records_only.p50_ms, 2)} ms · p99 ${num(l.records_only.p99_ms, 2)} ms (intake writer: action + 4 chained events)`,
        `${num(l.baseline.throughput_per_s)} INSERT/s`,
        num(l.records_only.ratio_to_baseline, 2),
        '—',
        'the database floor of the allow path',
      ]);
    }
    for (const l of intake.prepare ?? []) {
      rows.push([
        `↳ allow path with an executor prepare step, ${l.concurrency} clients`,
        `${num(l.with_prepare.throughput_per_s)} actions/s · p50 ${num(l.with_prepare.p50_ms, 2)} ms · p99 ${num(l.with_prepare.p99_ms, 2)} ms`,
        `${num(l.without.throughput_per_s)} actions/s without prepare · p50 ${num(l.without.p50_ms, 2)} ms`,
        num(l.ratio, 2),
        '—',
        'one executor round trip more per request (issue #14); reported, no target',
      ]);
    }
  }
  const approval = b.approval_latency as ApprovalLatencyResult | { error: string } | undefined;
  if (failed(approval)) rows.push(['approval latency', 'failed', '', '', '', approval.error.split('\n')[0]!]);
  else if (approval) {
    for (const [label, f] of [
      ['escalation → card posted', approval.escalation_to_card],
      ['approval click → executor call', approval.click_to_executor],
    ] as const) {
      rows.push([label, `p50 ${num(f.p50_ms)} ms · p99 ${num(f.p99_ms)} ms (n = ${f.requests})`, '—', '—', `p50 < ${f.target_p50_ms} ms`, met(f.p50_ms < f.target_p50_ms)]);
    }
  }
  const release = b.release as ReleaseResult | { error: string } | undefined;
  if (failed(release)) rows.push(['release through BullMQ', 'failed', '', '', '', release.error.split('\n')[0]!]);
  else if (release) {
    rows.push([
      `release through BullMQ to a local executor (${num(release.countersign.jobs, 0)} jobs, concurrency ${release.worker_concurrency})`,
      `${num(release.countersign.throughput_per_s)} commits/s`,
      `${num(release.baseline.throughput_per_s)} jobs/s (plain BullMQ, same HTTP client; with fetch: ${num(release.baseline_fetch.throughput_per_s)} jobs/s, ratio ${num(release.ratio_fetch, 2)})`,
      num(release.ratio, 2),
      `≥ ${release.target_ratio}`,
      met(release.ratio >= release.target_ratio),
    ]);
  }
  const table = [
    '| benchmark | Countersign | baseline (same run, same services) | ratio | target | result |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

  const m = report.machine;
  const sections = [
    `# Benchmark results`,
    '',
    `${report.generated_at} · ${report.mode} run in ${report.duration_s} s · Node ${m.node} · ${m.cpus} × ${m.cpu} · load average ${(m.load_average_at_start_and_end as string[]).join(' → ')}`,
    '',
    table,
    '',
  ];
  for (const name of Object.keys(externalOutput)) {
    const result = b[name];
    sections.push(`## ${name} (bench/${name}.ts)`, '');
    if (failed(result)) sections.push('```', result.error.slice(0, 1500), '```', '');
    else sections.push('```', externalOutput[name]!.trim(), '```', '', `Figures: bench/results-${name}.json, merged into bench/results.json under \`benchmarks.${name}\`.`, '');
  }
  sections.push('How each figure is measured: docs/benchmarks.md. Raw figures: bench/results.json.', '');
  return sections.join('\n');
}
