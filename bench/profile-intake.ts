// Load for a CPU profile of the intake alone, e.g.
//   node bin/run-ts.js bench/profile-intake.ts [concurrency] [seconds] [profile dir]
// Countersign runs in its own process (as in bench/intake.ts, default log level) with --cpu-prof; its
// .cpuprofile is written under <profile dir>/profile-intake-app/ when it stops (Chrome DevTools opens it).
import { benchServices } from './lib/services';
import { httpLoad } from './lib/http-load';
import { perRequest } from './lib/cpu-meter';

const concurrency = Number(process.argv[2] ?? 64);
const seconds = Number(process.argv[3] ?? 5);
process.env.BENCH_CPU_PROFILE_DIR ??= process.argv[4] ?? '/tmp/countersign-profile';
const svc = await benchServices('profile-intake');
try {
  const app = await svc.spawn('countersign', 'app', { workers: false });
  const { token } = await svc.agent('bench-profile');
  const cpu = svc.meter.window(app);
  const figures = await httpLoad({ url: app.url, token, concurrency, warmupMs: 1000, durationMs: seconds * 1000, actionClass: 'external_automation.read.jobs', tag: `p${concurrency}`, window: cpu });
  console.log(JSON.stringify({ concurrency, ...figures, cpu_ms_per_request: perRequest(cpu.figures(), figures.requests), profile_dir: process.env.BENCH_CPU_PROFILE_DIR }));
} finally {
  await svc.close();
}
process.exit(0);
