import type { BucketSpec } from './knobs.js';

interface Bucket {
  tokens: number;
  /** Start of the current refill interval (epoch ms). */
  windowStart: number;
}

export interface TakeResult {
  readonly allowed: boolean;
  readonly remaining: number;
  /** Whole seconds until the next refill; only meaningful when not allowed. */
  readonly retryAfterSeconds: number;
}

/**
 * Token buckets keyed by scope (`org:<id>`, `group:<id>`). Refills happen in whole intervals, as
 * Atlas's documented example suggests (10 capacity, 5 per 60 s, "retry after 55 seconds"), and are
 * computed from timestamps on each take, so a FakeClock drives them exactly.
 */
export class TokenBuckets {
  private buckets = new Map<string, Bucket>();

  reset(): void {
    this.buckets.clear();
  }

  take(key: string, spec: BucketSpec, now: number): TakeResult {
    const intervalMs = spec.refillIntervalSeconds * 1000;
    const bucket = this.buckets.get(key) ?? { tokens: spec.capacity, windowStart: now };
    const elapsed = Math.floor((now - bucket.windowStart) / intervalMs);
    if (elapsed > 0) {
      bucket.tokens = Math.min(spec.capacity, bucket.tokens + elapsed * spec.refillAmount);
      bucket.windowStart += elapsed * intervalMs;
    }
    bucket.tokens = Math.min(bucket.tokens, spec.capacity);
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, remaining: bucket.tokens, retryAfterSeconds: 0 };
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((bucket.windowStart + intervalMs - now) / 1000));
    return { allowed: false, remaining: 0, retryAfterSeconds };
  }
}
