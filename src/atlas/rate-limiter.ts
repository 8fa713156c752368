import PQueue from 'p-queue';
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
   * Length of the window the caps apply to; 60 000 in production. p-queue runs on real timers, so
   * tests shrink the window (or use fake timers) rather than wait minutes.
   */
  readonly intervalMs?: number;
}

export function createRateLimiter(settings: RateLimiterSettings): RateLimiter {
  const intervalMs = settings.intervalMs ?? 60_000;
  const queues = new Map<string, PQueue>();
  const overrides = new Map<string, number>();

  const newQueue = (cap: number): PQueue =>
    // Strict (sliding window) mode: never more than `cap` starts in any rolling window, which is
    // what a token bucket refilled at `cap` per minute tolerates.
    new PQueue({ intervalCap: Math.max(1, Math.floor(cap)), interval: intervalMs, strict: true });

  const queueFor = (scope: RateScope): PQueue => {
    const key = rateScopeKey(scope);
    let queue = queues.get(key);
    if (!queue) {
      const fallback =
        scope.kind === 'org' ? settings.orgRequestsPerMinute : settings.projectRequestsPerMinute;
      queue = newQueue(overrides.get(key) ?? fallback);
      queues.set(key, queue);
    }
    return queue;
  };

  return {
    schedule(scope, task, signal) {
      if (!scope) return task();
      return queueFor(scope).add(() => task(), { signal });
    },
    resize(scope, requestsPerMinute) {
      const key = rateScopeKey(scope);
      overrides.set(key, requestsPerMinute);
      // p-queue's cap is fixed at construction: new calls go to a fresh queue while the old one
      // drains what it already holds.
      queues.delete(key);
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
