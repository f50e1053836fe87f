// Start-up benchmark: how long a person waits. `node bin/run-ts.js bench/startup.ts [--quick]`; `npm run bench` runs
// it too. Runs the built product (dist/, as `npm ci` leaves it): `countersign --help`, `serve` ready on an existing
// data directory, and a first start on an empty one (from the template npm ci made, and without it: initdb).
// Writes bench/results-startup.json.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const quick = process.argv.includes('--quick');

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  // The built product unless the run asks for the sources (the flag set by the test suite is not inherited).
  const e: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'error', DATABASE_URL: '', REDIS_URL: '', PORT: '0' };
  delete e.COUNTERSIGN_FROM_SOURCE;
  return { ...e, ...extra };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor((s.length - 1) / 2)]!);
}

/** Wall time of a command that exits, in ms (node unless another command is given). */
function timeRun(args: string[], extra: Record<string, string> = {}, command = process.execPath): number {
  const t = performance.now();
  const r = spawnSync(command, args, { cwd: root, env: env(extra), stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return performance.now() - t;
}

/** `countersign serve` until it says it listens (ms), then a clean stop. */
async function timeServe(dataDir: string, extra: Record<string, string> = {}): Promise<number> {
  const t = performance.now();
  const child = spawn(process.execPath, ['bin/countersign.js', 'serve'], { cwd: root, env: env({ COUNTERSIGN_DATA_DIR: dataDir, ...extra }), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const ready = await new Promise<number>((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c.toString('utf8');
      if (/countersign listening on/.test(out)) resolve(performance.now() - t);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`serve exited ${code} before it listened:\n${out.slice(-2000)}`)));
  });
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  return ready;
}

export async function runStartupBench() {
  if (!existsSync(join(root, 'dist/cli/main.js'))) throw new Error('dist/ is missing: npm run build first');
  const helpRuns = quick ? 3 : 10;
  const nodeAlone = Array.from({ length: helpRuns }, () => timeRun(['-e', '0']));
  const help = Array.from({ length: helpRuns }, () => timeRun(['bin/countersign.js', '--help']));
  const helpFromSource = Array.from({ length: quick ? 1 : 3 }, () => timeRun(['bin/countersign.js', '--help'], { COUNTERSIGN_FROM_SOURCE: '1' }));
  // As the README has it: npx adds npm's own start-up.
  const helpThroughNpx = Array.from({ length: quick ? 1 : 3 }, () => timeRun(['countersign', '--help'], {}, 'npx'));

  const dirs: string[] = [];
  const fresh = () => {
    const d = mkdtempSync(join(tmpdir(), 'cs-bench-start-'));
    dirs.push(d);
    return d;
  };
  try {
    const firstFromTemplate: number[] = [];
    const existing: number[] = [];
    const starts = quick ? 1 : 3;
    for (let i = 0; i < starts; i++) {
      const dir = fresh();
      firstFromTemplate.push(await timeServe(dir));
      existing.push(await timeServe(dir));
    }
    const firstInitdb = quick ? null : await timeServe(fresh(), { COUNTERSIGN_PGDATA_TEMPLATE: 'none' });
    return {
      name: 'startup',
      mode: quick ? 'quick' : 'full',
      load_average: loadavg()[0]!.toFixed(2),
      cli_help_ms: { median: median(help), runs: help.map(Math.round), node_alone_median: median(nodeAlone), from_source_tsx_median: median(helpFromSource), npx_median: median(helpThroughNpx) },
      serve_ready_existing_data_dir_ms: { median: median(existing), runs: existing.map(Math.round) },
      first_start_from_template_ms: { median: median(firstFromTemplate), runs: firstFromTemplate.map(Math.round) },
      first_start_initdb_ms: firstInitdb === null ? null : Math.round(firstInitdb),
    };
  } finally {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await runStartupBench();
  writeFileSync(new URL('./results-startup.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  const r = result;
  process.stdout.write(
    [
      `countersign --help: ${r.cli_help_ms.median} ms median (node alone ${r.cli_help_ms.node_alone_median} ms; from source through tsx ${r.cli_help_ms.from_source_tsx_median} ms; npx countersign --help ${r.cli_help_ms.npx_median} ms)`,
      `serve ready on an existing data directory: ${r.serve_ready_existing_data_dir_ms.median} ms median`,
      `first start on an empty data directory, from the template: ${r.first_start_from_template_ms.median} ms median`,
      `first start without the template (initdb): ${r.first_start_initdb_ms ?? 'not run (--quick)'}${r.first_start_initdb_ms ? ' ms' : ''}`,
      `load average ${r.load_average}`,
    ].join('\n') + '\n',
  );
  process.exit(0);
}
