/** Latency/throughput figures as every Countersign benchmark reports them. */
export type Figures = { requests: number; errors: number; seconds: number; throughput_per_s: number; p50_ms: number; p99_ms: number };

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Figures from per-request latencies (ms) over a measured window (s). */
export function summarize(latenciesMs: ArrayLike<number>, seconds: number, errors = 0): Figures {
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    requests: sorted.length,
    errors,
    seconds: round(seconds, 3),
    throughput_per_s: round(sorted.length / seconds, 1),
    p50_ms: round(percentile(sorted, 50), 3),
    p99_ms: round(percentile(sorted, 99), 3),
  };
}

/**
 * Runs `op` from `concurrency` loops for `warmupMs` (discarded) and then `durationMs` (measured).
 * For in-process baselines; HTTP load runs in a worker thread (http-load.ts) so the client does not
 * share the server's event loop.
 */
export async function closedLoop(concurrency: number, warmupMs: number, durationMs: number, op: (i: number) => Promise<unknown>): Promise<Figures> {
  let i = 0;
  let errors = 0;
  const latencies: number[] = [];
  let measuring = false;
  const start = performance.now();
  const warmEnd = start + warmupMs;
  const end = warmEnd + durationMs;
  let measureStart = warmEnd;
  const loop = async () => {
    for (;;) {
      const now = performance.now();
      if (now >= end) return;
      if (!measuring && now >= warmEnd) {
        measuring = true;
        measureStart = now;
      }
      const t = performance.now();
      try {
        await op(i++);
        if (t >= warmEnd) latencies.push(performance.now() - t);
      } catch {
        if (t >= warmEnd) errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return summarize(latencies, (performance.now() - measureStart) / 1000, errors);
}

/** A figure over interleaved rounds: the median, and the spread (lowest and highest round). */
export type Spread = { median: number; min: number; max: number; rounds: number[] };

export function spread(values: number[], digits = 3): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median: round(median, digits), min: round(sorted[0] ?? NaN, digits), max: round(sorted.at(-1) ?? NaN, digits), rounds: values.map((v) => round(v, digits)) };
}
