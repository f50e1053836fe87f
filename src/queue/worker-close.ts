import type { Worker } from 'bullmq';

/**
 * Closes a BullMQ worker once its own Redis connection has finished connecting (waiting at most `readyWithinMs`:
 * during an outage it never does). BullMQ 5.81's RedisConnection.close() on a connection still initialising
 * removes its listeners before the initialisation's rejection arrives; the constructor's
 * `.catch(err => this.emit('error', err))` then throws for want of an 'error' listener, and the process gets
 * an unhandled "Connection is closed." — what Ctrl-C just after "listening" hit, one start in three.
 */
export async function closeWorker(worker: Worker, readyWithinMs = 1000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    worker.waitUntilReady().then(
      () => undefined,
      () => undefined,
    ),
    new Promise((resolve) => {
      timer = setTimeout(resolve, readyWithinMs);
    }),
  ]);
  clearTimeout(timer);
  await worker.close();
}
