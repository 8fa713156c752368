import { cancelledError } from '../../src/errors/connector-error.js';
import type { Clock } from '../../src/runtime/clock.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/**
 * A manual clock. `sleep` resolves only when `advance` moves time past it, in due order, letting
 * promise chains run between timers, so loops built on `sleep` can be stepped deterministically.
 */
export class FakeClock implements Clock {
  private time: number;
  private readonly wallOffset: number;
  private timers: Timer[] = [];
  private seq = 0;

  constructor(startWallMs = Date.UTC(2026, 10, 24, 12, 0, 0)) {
    this.time = 0;
    this.wallOffset = startWallMs;
  }

  now(): number {
    return this.wallOffset + this.time;
  }

  monotonic(): number {
    return this.time;
  }

  /** Number of sleeps waiting. */
  get pending(): number {
    return this.timers.length;
  }

  /** Milliseconds until the earliest sleep is due (undefined when none waits). */
  nextDue(): number | undefined {
    if (this.timers.length === 0) return undefined;
    return Math.max(0, Math.min(...this.timers.map((t) => t.at)) - this.time);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(cancelledError(signal.reason));
        return;
      }
      const onAbort = (): void => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(cancelledError(signal?.reason));
      };
      const timer: Timer = {
        at: this.time + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.timers.push(timer);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Moves time forward by `ms`, firing due sleeps one at a time. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    await flushMicrotasks();
    for (;;) {
      const next = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.time = Math.max(this.time, next.at);
      next.resolve();
      await flushMicrotasks();
    }
    this.time = target;
    await flushMicrotasks();
  }
}

export async function flushMicrotasks(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Lets real I/O (loopback sockets, nock replies) settle until `condition` holds. Bounded by wall
 * time rather than by a number of turns: a loaded CI machine needs more turns, never a different
 * answer.
 */
export async function settleUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
