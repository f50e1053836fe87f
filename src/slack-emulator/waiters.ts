import type { EventEmitter } from 'node:events';
import type { WaitOptions } from './types.ts';

export const DEFAULT_WAIT_MS = 3000;

/**
 * Resolves with the predicate's first truthy answer, re-checking on every emulator change (and every
 * 20 ms, for time-based state); rejects after `timeoutMs` with the description in the message.
 */
export function waitFor<T>(
  emitter: EventEmitter,
  predicate: () => T | undefined | null | false,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_MS;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(poll);
      emitter.off('change', check);
      fn();
    };
    const check = () => {
      let value: T | undefined | null | false;
      try {
        value = predicate();
      } catch (err) {
        finish(() => reject(err));
        return;
      }
      if (value) finish(() => resolve(value as T));
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`Slack emulator: timed out after ${timeoutMs} ms waiting for ${opts.description ?? 'condition'}`))),
      timeoutMs,
    );
    const poll = setInterval(check, 20);
    emitter.on('change', check);
    check();
  });
}
