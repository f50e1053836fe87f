// CPU per side of a benchmark over a measured window, from /proc: the process under test, the PostgreSQL
// backends serving the benchmark's database, the benchmark's private Redis, and this process (the load
// generator and, for release, the executor).
import type postgres from 'postgres';
import { cpuBetween, snapshot, type CpuSnapshot } from './proc-cpu';
import type { BenchProcess } from './bench-process';

export type CpuFigures = {
  /** CPU (ms) over the window: the process under test (all its threads), PostgreSQL backends of the benchmark's database, its Redis, the load generator. */
  app_ms: number;
  postgres_ms: number;
  redis_ms: number;
  client_ms: number;
  /** The tested process's main-thread event-loop busy time (ms) over the window: it counts descheduled time on a busy machine. */
  app_event_loop_ms: number;
};

export type CpuWindow = { open(): Promise<void>; close(): Promise<void>; figures(): CpuFigures };

export function cpuMeter(sql: postgres.Sql, redisPid: number | undefined) {
  async function groups(app: BenchProcess): Promise<Record<string, number[]>> {
    // Our own monitoring connection is left out; the shared server's background processes too (other databases use them).
    const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`;
    return { app: [app.pid], postgres: rows.map((r) => r.pid), redis: redisPid ? [redisPid] : [], client: [process.pid] };
  }
  /** A window over `app`: open() when measuring starts, close() when it ends, then figures(). */
  function window(app: BenchProcess): CpuWindow {
    let before: CpuSnapshot | null = null;
    let after: CpuSnapshot | null = null;
    let elu0 = 0;
    let elu1 = 0;
    return {
      async open() {
        const g = await groups(app);
        elu0 = await app.eluActiveMs();
        before = snapshot(g);
      },
      async close() {
        const g = await groups(app);
        after = snapshot(g);
        elu1 = await app.eluActiveMs();
      },
      figures() {
        if (!before || !after) throw new Error('cpu window was not opened and closed');
        const d = cpuBetween(before, after);
        return { app_ms: d.app ?? 0, postgres_ms: d.postgres ?? 0, redis_ms: d.redis ?? 0, client_ms: d.client ?? 0, app_event_loop_ms: elu1 - elu0 };
      },
    };
  }
  return { window };
}

/** CPU figures per request (or per job), ms. */
export type CpuPerRequest = { app: number; postgres: number; redis: number; client: number; app_event_loop: number };

export function perRequest(c: CpuFigures, n: number): CpuPerRequest {
  const per = (ms: number) => Math.round((ms / Math.max(1, n)) * 1000) / 1000;
  return { app: per(c.app_ms), postgres: per(c.postgres_ms), redis: per(c.redis_ms), client: per(c.client_ms), app_event_loop: per(c.app_event_loop_ms) };
}
