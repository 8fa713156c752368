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

/** setTimeout's largest delay: a longer one overflows and fires after 1 ms. */
const maxTimerDelayMs = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(cancelledError(signal.reason));
        return;
      }
      let remaining = ms > 0 ? ms : 0;
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(cancelledError(signal?.reason));
      };
      // Longer sleeps are chained in steps a timer can hold.
      const arm = (): void => {
        const step = Math.min(remaining, maxTimerDelayMs);
        remaining -= step;
        timer = setTimeout(() => {
          if (remaining > 0) return arm();
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, step);
      };
      arm();
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};
