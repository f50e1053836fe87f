// HTTP load generator for bench/lib/http-load.ts, in its own thread so the client does not share the
// server's event loop. Plain JS: it runs without the TypeScript loader.
import { parentPort, workerData, threadId } from 'node:worker_threads';
import http from 'node:http';

const { url, token, concurrency, warmupMs, durationMs, actionClass, tag } = workerData;
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function post(i) {
  const body = JSON.stringify({
    action_class: actionClass,
    params: { n: i, name: `bench-${i}` },
    context: {},
    idempotency_key: `bench-${tag}-${threadId}-${i}`,
    justification: 'benchmark',
  });
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: '/v1/actions',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

const latencies = [];
const statuses = {};
let i = 0;
const start = performance.now();
const warmEnd = start + warmupMs;
const end = warmEnd + durationMs;
// The parent reads CPU counters when the measured window opens (and again when the results arrive).
setTimeout(() => parentPort.postMessage({ phase: 'measuring' }), warmupMs);
async function loop() {
  while (performance.now() < end) {
    const t = performance.now();
    const status = await post(i++);
    if (t >= warmEnd) {
      latencies.push(performance.now() - t);
      statuses[status] = (statuses[status] ?? 0) + 1;
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, loop));
const seconds = (performance.now() - warmEnd) / 1000;
agent.destroy();
parentPort.postMessage({ phase: 'done', latencies: Float64Array.from(latencies), statuses, seconds });
