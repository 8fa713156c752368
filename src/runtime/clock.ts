import { performance } from 'node:perf_hooks';
import { cancelledError } from '../errors/connector-error.js';

/**
 * Time as a port. `now()` is wall-clock epoch milliseconds, used only for timestamps that leave the
 * process (Atlas `deleteAfterDate`, labels, logs). Deadlines and durations use `monotonic()`, which
 * never jumps when the system clock is corrected.
 */
export interface Clock {
  now(): number;
  monotonic(): number;
  /** Resolves after `ms`; rejects with a `cancelled` ConnectorError as soon as `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(cancelledError(signal.reason));
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(cancelledError(signal?.reason));
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
