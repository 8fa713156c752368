import { toConnectorError, type ConnectorError } from '../errors/connector-error.js';
import type { Clock } from './clock.js';
import type { Random } from './random.js';

export interface BackoffPolicy {
  /** First window, in ms. */
  readonly baseMs: number;
  /** Largest window, in ms. */
  readonly capMs: number;
}

/**
 * Full jitter (AWS architecture blog): a uniform draw in [0, min(cap, base·2^attempt)).
 * `attempt` counts from 0. A `Retry-After` hint raises the floor, it never lowers it.
 */
export function fullJitterDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: Pick<Random, 'float'>,
  retryAfterMs?: number,
): number {
  const window = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  const jittered = Math.floor(random.float() * window);
  return Math.max(jittered, retryAfterMs ?? 0);
}

/**
 * `fullJitterDelay` with the hint raising the floor up to the policy's cap only: a failure other
 * than a rate limit whose `Retry-After` is long (a 503 for a day's maintenance) must not park the
 * job in place; the error it ends with keeps the whole hint for the redelivery.
 */
export function hintUpToCapDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: Pick<Random, 'float'>,
  retryAfterMs: number | undefined,
): number {
  return fullJitterDelay(policy, attempt, random, Math.min(retryAfterMs ?? 0, policy.capMs));
}

export interface RetryOptions extends BackoffPolicy {
  readonly clock: Pick<Clock, 'sleep' | 'monotonic'>;
  readonly random: Pick<Random, 'float'>;
  readonly signal?: AbortSignal;
  /** Total attempts including the first; `Infinity` retries until `deadlineMs` or the signal. */
  readonly maxAttempts: number;
  /** Monotonic time after which no further attempt is started. */
  readonly deadlineMs?: number;
  /** Defaults to the error's own retry flag. */
  readonly shouldRetry?: (error: ConnectorError, attempt: number) => boolean;
  readonly onRetry?: (error: ConnectorError, attempt: number, delayMs: number) => void;
  /** Replaces `fullJitterDelay` for one failure (e.g. jitter on top of a rate limit's hint). */
  readonly delayFor?: (error: ConnectorError, attempt: number) => number;
}

/**
 * After a `Retry-After` hint, full jitter *on top of* the hint: every client told "60 s" must not
 * come back in the same millisecond (the token bucket would refuse most of them again).
 */
export function jitterAfterHint(
  policy: BackoffPolicy,
  attempt: number,
  random: Pick<Random, 'float'>,
  retryAfterMs: number | undefined,
): number {
  return (retryAfterMs ?? 0) + fullJitterDelay(policy, attempt, random);
}

/** The one cancellable retry helper: full jitter on the injected clock, honouring `Retry-After`. */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await operation(attempt);
    } catch (caught) {
      const error = toConnectorError(caught);
      if (options.signal?.aborted) throw error;
      const retry = options.shouldRetry ? options.shouldRetry(error, attempt) : error.retryable;
      if (!retry || attempt + 1 >= options.maxAttempts) throw error;
      const delay =
        options.delayFor?.(error, attempt) ??
        fullJitterDelay(options, attempt, options.random, error.retryAfterMs);
      if (options.deadlineMs !== undefined && options.clock.monotonic() + delay >= options.deadlineMs)
        throw error;
      options.onRetry?.(error, attempt, delay);
      await options.clock.sleep(delay, options.signal);
    }
  }
}

/**
 * A control-plane call that failed on a blip (a reset, a 503 while it rolls), tried again in place
 * up to 4 times: full jitter over 0.5, 1 and 2 s. A `Retry-After` over 5 s is no blip: the call
 * fails with its hint at once, and the job's attempt with it, rather than hold its slot that long.
 */
export const blipRetry = {
  baseMs: 500,
  capMs: 2_000,
  maxAttempts: 4,
  shouldRetry: (error: ConnectorError): boolean => error.retryable && (error.retryAfterMs ?? 0) <= 5_000,
} as const;
