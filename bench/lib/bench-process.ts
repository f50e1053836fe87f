// Starts one side of a benchmark as a child process (bench/lib/child.ts) and talks to it over IPC.
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type ChildKind = 'countersign' | 'records' | 'insert' | 'plain-worker' | 'release-floor';

export type BenchProcess = {
  kind: ChildKind;
  pid: number;
  url: string;
  /** Where its stdout and stderr go: Countersign logs there at its default level, as in production. */
  logFile: string;
  /** Its main thread's event-loop busy time so far (ms), for the figure beside /proc's CPU. */
  eluActiveMs(): Promise<number>;
  /** Lines and bytes it has logged so far. */
  logged(): { lines: number; bytes: number };
  stop(): Promise<void>;
};

/**
 * The child gets `env` on top of the parent's environment, minus LOG_LEVEL and the test markers: a benchmark
 * runs Countersign at its default log level unless `env` says otherwise.
 */
export async function startBenchProcess(
  kind: ChildKind,
  name: string,
  env: Record<string, string>,
  options: Record<string, unknown> = {},
  /** Another checkout to run the side from (bench/intake.ts `compareRoot`: two versions in the same rounds). */
  root = ROOT,
): Promise<BenchProcess> {
  const logFile = join(tmpdir(), `countersign-bench-${name}-${process.pid}.log`);
  const fd = openSync(logFile, 'w');
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (k !== 'LOG_LEVEL' && !k.startsWith('VITEST') && k !== 'NODE_OPTIONS') base[k] = v;
  const child: ChildProcess = fork(join(root, 'bin/run-ts.js'), [join(root, 'bench/lib/child.ts')], {
    cwd: root,
    env: { ...base, ...env, BENCH_CHILD: kind, BENCH_OPTIONS: JSON.stringify(options) },
    stdio: ['ignore', fd, fd, 'ipc'],
    // BENCH_CPU_PROFILE_DIR=<dir>: every side writes a .cpuprofile under <dir>/<name>/ when it stops (Chrome DevTools reads it).
    execArgv: process.env.BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${join(process.env.BENCH_CPU_PROFILE_DIR, name)}`] : [],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench child ${name} did not start in 60 s; see ${logFile}`)), 60_000);
    child.once('message', (m: { type: string; url: string }) => {
      clearTimeout(timer);
      if (m.type === 'ready') resolve(m.url);
      else reject(new Error(`bench child ${name}: unexpected ${JSON.stringify(m)}`));
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`bench child ${name} exited with ${code} before it was ready:\n${readFileSync(logFile, 'utf8').slice(-3000)}`));
    });
  });
  let stopped = false;
  return {
    kind,
    pid: child.pid!,
    url,
    logFile,
    eluActiveMs: () =>
      new Promise<number>((resolve) => {
        const on = (m: { type: string; active: number }) => {
          if (m.type !== 'elu') return;
          child.off('message', on);
          resolve(m.active);
        };
        child.on('message', on);
        child.send({ type: 'elu' });
      }),
    logged() {
      const text = readFileSync(logFile, 'utf8');
      return { lines: text ? text.split('\n').length - 1 : 0, bytes: statSync(logFile).size };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.connected) child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
