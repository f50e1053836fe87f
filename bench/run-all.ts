// `npm run bench`: every benchmark, each against its baseline measured in the same run on the same services.
// Writes bench/results.json (all figures, other owners' benchmarks merged in) and bench/results.md (the table,
// also printed on stdout). `npm run bench -- --quick` shortens every run (a smoke check, not figures to quote).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

// Before anything imports the logger: the table goes to stdout. Countersign itself runs in child processes at
// its default log level, logging to files (bench/lib/bench-process.ts).
process.env.LOG_LEVEL ??= 'error';
const quick = process.argv.includes('--quick');
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const root = here('..');

const { runIntakeBench } = await import('./intake.ts');
const { runApprovalLatencyBench } = await import('./approval-latency.ts');
const { runReleaseBench } = await import('./release.ts');
const { renderMarkdown } = await import('./lib/report.ts');
const { syncBenchmarkDocs } = await import('./lib/docs-sync.ts');

/** Benchmarks owned by other features: run as child processes; they write bench/results-<name>.json. */
const EXTERNAL = ['policy', 'audit', 'startup'];
const EXTERNAL_TIMEOUT_MS = quick ? 60_000 : 100_000;
/** Longer ceilings for benchmarks that must load data first (audit: a million events). */
const EXTERNAL_TIMEOUT_FULL_MS: Record<string, number> = { audit: 600_000, startup: 400_000 };

const started = new Date();
const loadAtStart = loadavg()[0]!.toFixed(2);
const results: Record<string, unknown> = {};
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

async function step(name: string, run: () => Promise<unknown>) {
  const t = performance.now();
  log(`${name}…`);
  try {
    results[name] = await run();
  } catch (e) {
    results[name] = { name, error: (e as Error).stack ?? String(e) };
    log(`${name} failed: ${(e as Error).message}`);
  }
  log(`${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

await step('intake', () => runIntakeBench(quick ? { warmupMs: 300, durationMs: 800, rounds: 2, prepareRounds: 1 } : {}));
await step('approval_latency', () => runApprovalLatencyBench(quick ? { iterations: 8, warmup: 1 } : {}));
await step('release', () => runReleaseBench(quick ? { jobs: 200, rounds: 2, creationBudgetMs: 4_000 } : { jobs: 2000, rounds: 3, creationBudgetMs: 10_000 }));

const externalOutput: Record<string, string> = {};
for (const name of EXTERNAL) {
  const script = here(`./${name}.ts`);
  if (!existsSync(script)) continue;
  await step(name, async () => {
    const timeoutMs = quick ? EXTERNAL_TIMEOUT_MS : (EXTERNAL_TIMEOUT_FULL_MS[name] ?? EXTERNAL_TIMEOUT_MS);
    let { code, signal, output } = await runChild(script, quick ? ['--quick'] : [], timeoutMs);
    // A crash (a signal not our own SIGKILL: bench/policy.ts meets a V8 deoptimizer fatal error now and then) is tried once more.
    if (code === null && signal !== 'SIGKILL') ({ code, signal, output } = await runChild(script, quick ? ['--quick'] : [], timeoutMs).then((r) => ({ ...r, output: `(crashed with ${signal} and was run again)\n${r.output}` })));
    externalOutput[name] = output;
    const file = here(`./results-${name}.json`);
    const fresh = existsSync(file) && statSync(file).mtimeMs >= started.getTime();
    if (code === null && signal === 'SIGKILL') throw new Error(`bench/${name}.ts did not finish within ${timeoutMs / 1000} s and was stopped\n${output.slice(-2000)}`);
    if (code === null) throw new Error(`bench/${name}.ts crashed (${signal})\n${output.slice(-2000)}`);
    if (code !== 0 || !fresh) throw new Error(`bench/${name}.ts exited with ${code}${fresh ? '' : ' without writing a fresh results file'}\n${output.slice(-2000)}`);
    return JSON.parse(readFileSync(file, 'utf8')) as unknown;
  });
}

const report = {
  generated_at: started.toISOString(),
  duration_s: Math.round((Date.now() - started.getTime()) / 100) / 10,
  mode: quick ? 'quick' : 'full',
  machine: {
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    load_average_at_start_and_end: [loadAtStart, loadavg()[0]!.toFixed(2)],
  },
  benchmarks: results,
};
writeFileSync(here('./results.json'), `${JSON.stringify(report, null, 2)}\n`);
const markdown = renderMarkdown(report, externalOutput);
writeFileSync(here('./results.md'), markdown);
// docs/benchmarks.md quotes the latest full run's goal table (bench/lib/docs-sync.ts); a quick run leaves it alone.
if (!quick) syncBenchmarkDocs(markdown);
process.stdout.write(markdown);
process.exit(0);

function runChild(script: string, args: string[], timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`${root}/bin/run-ts.js`, script, ...args], { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output });
    });
  });
}
