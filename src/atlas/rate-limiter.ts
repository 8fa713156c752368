import { systemClock, type Clock } from '../runtime/clock.js';
import { rateScopeKey, type RateScope } from './operations.js';

/**
 * Client-side pacing so the connector stays under Atlas's token buckets instead of collecting
 * 429s. Calls without a project or organization in their path (USER-scoped buckets such as
 * `GET /groups`) are not paced; they are few and `Retry-After` covers them.
 */
export interface RateLimiter {
  schedule<T>(scope: RateScope | undefined, task: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Sets the pace for one project or organization, e.g. from `GET /rateLimits`. */
  resize(scope: RateScope, requestsPerMinute: number): void;
}

export interface RateLimiterSettings {
  readonly orgRequestsPerMinute: number;
  readonly projectRequestsPerMinute: number;
  /**
   * Length of "a minute" for the rates above; 60 000 in production. Tests on real timers shrink it
   * rather than wait minutes.
   */
  readonly intervalMs?: number;
}

/** Largest burst: small enough for Atlas's smallest buckets (capacity 10), never above the rate. */
export function burstFor(requestsPerMinute: number): number {
  return Math.max(1, Math.min(10, Math.floor(requestsPerMinute / 10)));
}

/**
 * The pacing window for `burst` calls at `requestsPerMinute`, plus a margin of 2 % (at least
 * 20 ms). Without it, calls started exactly one window after a burst reach Atlas a few ms before
 * its bucket refills whenever their round trips jitter (a loaded host, a slower first request),
 * and collect 429s; the margin costs 2 % of the rate.
 */
export function windowFor(requestsPerMinute: number, intervalMs = 60_000): number {
  const rate = Math.max(1, requestsPerMinute);
  const windowMs = (burstFor(rate) * intervalMs) / rate;
  return Math.max(1, Math.round(windowMs + Math.max(20, windowMs * 0.02)));
}

/** A call waiting for room in its window. */
interface Waiter {
  readonly start: () => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/**
 * At most `cap` starts in any sliding window of `windowMs` (what p-queue's `strict` interval mode
 * does), waiting calls started in order. A call that finds room and nobody waiting starts at once,
 * in the caller's turn: pacing costs nothing then, where a queue sets and clears its interval
 * timers on every call (measured at 0.1–0.2 ms of CPU per Atlas call, before the request leaves).
 */
class SlidingWindow {
  /** Start times (`clock.monotonic()`) of the calls still inside the window, oldest first. */
  private readonly starts: number[] = [];
  private readonly waiting: Waiter[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly cap: number,
    private readonly windowMs: number,
    private readonly clock: Pick<Clock, 'monotonic'>,
  ) {}

  schedule<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.waiting.length === 0 && this.take()) return task();
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          signal?.removeEventListener('abort', waiter.onAbort);
          task().then(resolve, reject);
        },
        signal,
        onAbort: () => {
          const index = this.waiting.indexOf(waiter);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(signal?.reason as Error);
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiting.push(waiter);
      this.arm();
    });
  }

  /** Records a start now if the window has room. */
  private take(): boolean {
    const now = this.clock.monotonic();
    while (this.starts.length > 0 && (this.starts[0] ?? now) + this.windowMs <= now) this.starts.shift();
    if (this.starts.length >= this.cap) return false;
    this.starts.push(now);
    return true;
  }

  /** Starts every waiter the window has room for, then sleeps until the oldest start leaves it. */
  private release = (): void => {
    this.timer = undefined;
    while (this.waiting.length > 0 && this.take()) this.waiting.shift()?.start();
    this.arm();
  };

  private arm(): void {
    if (this.timer !== undefined || this.waiting.length === 0) return;
    const now = this.clock.monotonic();
    this.timer = setTimeout(this.release, Math.max(0, (this.starts[0] ?? now) + this.windowMs - now));
  }
}

/**
 * `clock`: where window times come from. The system's, as the limiter's timers are real ones (the
 * client does not pass its own clock, which tests may stop); unit tests on fake timers pass one
 * that reads the faked `Date`.
 */
export function createRateLimiter(
  settings: RateLimiterSettings,
  clock: Pick<Clock, 'monotonic'> = systemClock,
): RateLimiter {
  const intervalMs = settings.intervalMs ?? 60_000;
  const windows = new Map<string, SlidingWindow>();
  const overrides = new Map<string, number>();

  // Token-bucket pacing: at most `burst` starts in any sliding window of burst/rate. The long-run
  // rate is `rate`, and no burst is larger than a small Atlas bucket holds. (A cap of `rate` per
  // minute would send a whole minute's calls at once into a bucket of 10 and collect 429s.)
  const newWindow = (requestsPerMinute: number): SlidingWindow =>
    new SlidingWindow(
      burstFor(Math.max(1, requestsPerMinute)),
      windowFor(requestsPerMinute, intervalMs),
      clock,
    );

  const windowOf = (scope: RateScope): SlidingWindow => {
    const key = rateScopeKey(scope);
    let window = windows.get(key);
    if (!window) {
      const fallback =
        scope.kind === 'org' ? settings.orgRequestsPerMinute : settings.projectRequestsPerMinute;
      window = newWindow(overrides.get(key) ?? fallback);
      windows.set(key, window);
    }
    return window;
  };

  return {
    schedule(scope, task, signal) {
      if (!scope) return task();
      return windowOf(scope).schedule(task, signal);
    },
    resize(scope, requestsPerMinute) {
      const key = rateScopeKey(scope);
      overrides.set(key, requestsPerMinute);
      // A window's cap is fixed at construction: new calls go to a fresh window while the old one
      // starts what it already holds.
      windows.delete(key);
    },
  };
}

/** No pacing at all: for unit tests and for callers that pace themselves. */
export const unlimitedRateLimiter: RateLimiter = {
  schedule: async (_scope, task, signal) => {
    signal?.throwIfAborted();
    return task();
  },
  resize: () => undefined,
};
