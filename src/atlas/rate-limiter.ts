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
   * Length of "a minute" for the rates above; 60 000 in production. p-queue runs on real timers, so
   * tests shrink it rather than wait minutes.
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

/** One scope's queue at one pace; `opened` resolves once it may start calls. */
interface Lane {
  readonly requestsPerMinute: number;
  readonly queue: PQueue;
  readonly windowMs: number;
  readonly opened: Promise<void>;
  /** Calls started so far: a lane is forgotten only if none started in its last window. */
  starts: number;
  /** The pending check for forgetting the lane, while one is armed. */
  forgetTimer?: ReturnType<typeof setTimeout>;
}

/** `createRateLimiter`'s limiter, which also says how many scopes it holds a queue for. */
export interface PacingRateLimiter extends RateLimiter {
  /** Organizations and projects with a queue right now (diagnostics; tests). */
  readonly pacedScopes: number;
}

export function createRateLimiter(settings: RateLimiterSettings): PacingRateLimiter {
  const intervalMs = settings.intervalMs ?? 60_000;
  const lanes = new Map<string, Lane>();
  const overrides = new Map<string, number>();

  // A daemon works in thousands of projects over months, most of them now and then: a queue kept
  // for each one it ever touched (about 1.6 KB each) is never freed. A lane idle for a whole window
  // is forgotten: its queue holds no call and no start within the window, so the queue the next
  // call builds (at the same pace: `overrides` keeps a resized one) paces exactly as it would.
  const armForget = (key: string, lane: Lane): void => {
    if (lane.forgetTimer !== undefined) return;
    const starts = lane.starts;
    lane.forgetTimer = setTimeout(() => {
      lane.forgetTimer = undefined;
      if (lanes.get(key) !== lane || lane.queue.size > 0 || lane.queue.pending > 0) return;
      // Calls started since the check was armed: look again one window after them.
      if (lane.starts !== starts) armForget(key, lane);
      else lanes.delete(key);
    }, lane.windowMs);
    lane.forgetTimer.unref?.();
  };

  // Token-bucket pacing: at most `burst` starts in any sliding window of burst/rate. The long-run
  // rate is `rate`, and no burst is larger than a small Atlas bucket holds. (A cap of `rate` per
  // minute would send a whole minute's calls at once into a bucket of 10 and collect 429s.)
  // p-queue's cap is fixed at construction, so a new pace is a new queue. It opens only once the
  // queue it replaces has started all it holds and one window (the longer of the two) has passed:
  // no window then holds starts of both, and a resize never lets a second burst follow the first.
  const newLane = (key: string, requestsPerMinute: number, previous: Lane | undefined): Lane => {
    const windowMs = windowFor(requestsPerMinute, intervalMs);
    const queue = new PQueue({
      intervalCap: burstFor(Math.max(1, requestsPerMinute)),
      interval: windowMs,
      strict: true,
      autoStart: previous === undefined,
    });
    const lane: Lane = {
      requestsPerMinute,
      queue,
      windowMs,
      starts: 0,
      opened: !previous
        ? Promise.resolve()
        : previous.opened
            .then(() => previous.queue.onEmpty())
            .then(() => wait(Math.max(previous.windowMs, windowMs)))
            .then(() => {
              queue.start();
              // A queue that never gets a call is forgotten too.
              if (queue.size === 0 && queue.pending === 0) armForget(key, lane);
            }),
    };
    // Not while a resized queue waits to open (it holds calls, or its opening would be lost).
    queue.on('idle', () => {
      if (!queue.isPaused) armForget(key, lane);
    });
    return lane;
  };

  const laneFor = (scope: RateScope): Lane => {
    const key = rateScopeKey(scope);
    let lane = lanes.get(key);
    if (!lane) {
      const fallback =
        scope.kind === 'org' ? settings.orgRequestsPerMinute : settings.projectRequestsPerMinute;
      lane = newLane(key, overrides.get(key) ?? fallback, undefined);
      lanes.set(key, lane);
    }
    return lane;
  };

  return {
    get pacedScopes() {
      return lanes.size;
    },
    schedule(scope, task, signal) {
      if (!scope) return task();
      const lane = laneFor(scope);
      return lane.queue.add(
        () => {
          lane.starts += 1;
          return task();
        },
        { signal },
      );
    },
    resize(scope, requestsPerMinute) {
      const key = rateScopeKey(scope);
      overrides.set(key, requestsPerMinute);
      const previous = lanes.get(key);
      // Nothing paced yet: the first call builds its queue at the new pace. The same pace keeps
      // its queue (and costs no wait).
      if (previous && previous.requestsPerMinute !== requestsPerMinute)
        lanes.set(key, newLane(key, requestsPerMinute, previous));
    },
  };
}

/** A plain timer, like p-queue's own: the limiter runs on real time, not the injected clock. */
function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** No pacing at all: for unit tests and for callers that pace themselves. */
export const unlimitedRateLimiter: RateLimiter = {
  schedule: async (_scope, task, signal) => {
    signal?.throwIfAborted();
    return task();
  },
  resize: () => undefined,
};
