import { abortable } from '../runtime/abortable.js';
import { cancelledError } from '../errors/connector-error.js';
import type { Clock } from '../runtime/clock.js';

export interface SingleFlightCacheOptions {
  readonly clock: Pick<Clock, 'monotonic'>;
  /** How long a loaded value is served; 0 keeps nothing (every call after a load loads again). */
  readonly ttlMs: number;
}

export interface SingleFlightCache<T> {
  /**
   * The cached value, or the result of `load`. Concurrent callers for one key share one load;
   * a failed load is not cached. `signal` ends this caller's wait, and the load itself only
   * once every caller waiting on it has gone.
   */
  get(key: string, load: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Drops the value and detaches any load in progress, so the next `get` reads afresh. */
  invalidate(key: string): void;
  clear(): void;
}

interface Flight<T> {
  readonly key: string;
  readonly controller: AbortController;
  readonly promise: Promise<T>;
  waiters: number;
}

/** TTL on the monotonic clock plus single-flight; all state belongs to the instance. */
export function createSingleFlightCache<T>(options: SingleFlightCacheOptions): SingleFlightCache<T> {
  return new TtlSingleFlightCache<T>(options);
}

class TtlSingleFlightCache<T> implements SingleFlightCache<T> {
  private readonly values = new Map<string, { readonly value: T; readonly expiresAt: number }>();
  private readonly flights = new Map<string, Flight<T>>();

  constructor(private readonly options: SingleFlightCacheOptions) {}

  get(key: string, load: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(cancelledError(signal.reason));
    const cached = this.values.get(key);
    if (cached && this.options.clock.monotonic() < cached.expiresAt) return Promise.resolve(cached.value);
    if (cached) this.values.delete(key);
    return this.wait(this.flights.get(key) ?? this.start(key, load), signal);
  }

  invalidate(key: string): void {
    this.values.delete(key);
    this.flights.delete(key);
  }

  clear(): void {
    this.values.clear();
    this.flights.clear();
  }

  private start(key: string, load: (signal: AbortSignal) => Promise<T>): Flight<T> {
    const controller = new AbortController();
    // The callbacks run on a later tick, by which time `flight` below is assigned.
    const promise = Promise.resolve()
      .then(() => load(controller.signal))
      .then((value) => this.keep(flight, value))
      .finally(() => this.detach(flight));
    // Every waiter may have left; the outcome is then nobody's, and must not surface as unhandled.
    promise.catch(() => undefined);
    const flight: Flight<T> = { key, controller, promise, waiters: 0 };
    this.flights.set(key, flight);
    return flight;
  }

  private keep(flight: Flight<T>, value: T): T {
    // A load detached by invalidate() may hold the value that was just rejected: do not keep it.
    if (this.flights.get(flight.key) === flight && this.options.ttlMs > 0) {
      this.values.set(flight.key, { value, expiresAt: this.options.clock.monotonic() + this.options.ttlMs });
    }
    return value;
  }

  private wait(flight: Flight<T>, signal?: AbortSignal): Promise<T> {
    flight.waiters += 1;
    return abortable(flight.promise, signal, (reason) => {
      this.leave(flight, reason);
      return cancelledError(reason);
    });
  }

  /** The last waiter to leave cancels the load: nobody is left to use its result. */
  private leave(flight: Flight<T>, reason: unknown): void {
    flight.waiters -= 1;
    if (flight.waiters > 0) return;
    flight.controller.abort(reason);
    this.detach(flight);
  }

  private detach(flight: Flight<T>): void {
    if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
  }
}
