// Load for a CPU profile of the intake alone (no baseline loop in the same process), e.g.
//   LOG_LEVEL=silent node --cpu-prof --cpu-prof-dir=/tmp/perf bin/run-ts.js bench/profile-intake.ts [concurrency] [seconds]
// The main-thread profile is the largest .cpuprofile; the load runs in a worker thread, as in bench/intake.ts.
import { benchServices } from './lib/services';
import { httpLoad } from './lib/http-load';

const concurrency = Number(process.argv[2] ?? 16);
const seconds = Number(process.argv[3] ?? 5);
const svc = await benchServices('profile-intake');
try {
  const app = await svc.start({}, { workers: false });
  const { token } = await svc.agent('bench-profile');
  const elu0 = performance.eventLoopUtilization();
  const figures = await httpLoad({
    url: app.url,
    token,
    concurrency,
    warmupMs: 1000,
    durationMs: seconds * 1000,
    actionClass: 'external_automation.read.jobs',
    tag: `p${concurrency}`,
  });
  const busyMs = performance.eventLoopUtilization(elu0).active;
  const scale = (1000 + seconds * 1000) / (seconds * 1000);
  console.log(JSON.stringify({ concurrency, ...figures, event_loop_ms_per_request: busyMs / Math.max(1, figures.requests * scale) }));
} finally {
  await svc.close();
}
process.exit(0);
