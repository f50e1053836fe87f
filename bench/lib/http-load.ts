import { Worker } from 'node:worker_threads';
import { summarize, type Figures } from './stats';

export type HttpLoad = {
  url: string;
  token: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  actionClass: string;
  tag: string;
  /** Called when the measured window opens (after the warm-up) and when it closes: where CPU counters are read. */
  window?: { open(): Promise<void> | void; close(): Promise<void> | void };
};

/** POST /v1/actions from `concurrency` keep-alive connections in a worker thread; non-201 answers count as errors. */
export async function httpLoad(opts: HttpLoad): Promise<Figures & { statuses: Record<string, number> }> {
  const { window, ...data } = opts;
  const worker = new Worker(new URL('./load-worker.mjs', import.meta.url), { workerData: data });
  let opened: Promise<void> = Promise.resolve();
  const result = await new Promise<{ latencies: Float64Array; statuses: Record<string, number>; seconds: number }>((resolve, reject) => {
    worker.on('message', (m: { phase: string; latencies: Float64Array; statuses: Record<string, number>; seconds: number }) => {
      if (m.phase === 'measuring') opened = Promise.resolve(window?.open());
      else if (m.phase === 'done') resolve(m);
    });
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`load worker exited with ${code}`)));
  });
  await opened;
  await window?.close();
  await worker.terminate();
  const errors = Object.entries(result.statuses).filter(([s]) => s !== '201').reduce((a, [, n]) => a + n, 0);
  return { ...summarize(result.latencies, result.seconds, errors), statuses: result.statuses };
}
