// CPU time of processes from /proc (Linux): what each side of a benchmark costs the machine, whatever the
// scheduler did with wall-clock time. The event-loop figure counts time a thread was runnable but descheduled
// on a busy machine as busy; utime + stime do not.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let tickMs: number | null = null;

/** Milliseconds per clock tick (sysconf(_SC_CLK_TCK), 100 Hz on Linux almost everywhere). */
function msPerTick(): number {
  if (tickMs === null) {
    try {
      tickMs = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      tickMs = 10;
    }
  }
  return tickMs;
}

/** User + system CPU (ms) of a process and all its threads so far, or null once it is gone. */
export function processCpuMs(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) * msPerTick();
}

export function isProcCpuAvailable(): boolean {
  return processCpuMs(process.pid) !== null;
}

/** CPU (ms) per named group of processes, each group a list of pids read at the time of the snapshot. */
export type CpuSnapshot = Map<string, Map<number, number>>;

export function snapshot(groups: Record<string, number[]>): CpuSnapshot {
  const out: CpuSnapshot = new Map();
  for (const [name, pids] of Object.entries(groups)) {
    const per = new Map<number, number>();
    for (const pid of pids) {
      const ms = processCpuMs(pid);
      if (ms !== null) per.set(pid, ms);
    }
    out.set(name, per);
  }
  return out;
}

/**
 * CPU used per group between two snapshots. A process that appears only in the second (a database connection
 * opened meanwhile) counts from zero; one gone by the second is lost (the benchmarks keep their pools open).
 */
export function cpuBetween(before: CpuSnapshot, after: CpuSnapshot): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, per] of after) {
    let ms = 0;
    for (const [pid, end] of per) ms += end - (before.get(name)?.get(pid) ?? 0);
    out[name] = ms;
  }
  return out;
}
