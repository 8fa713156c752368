import type { Clock } from '../runtime/clock.js';

/**
 * How long everything after the drain wait may take, together: releasing leases, flushing held
 * results, waiting for handlers that ignore their signal, deregistering and closing clients. The
 * chart requires `terminationGracePeriodSeconds` > `DRAIN_TIMEOUT_SECONDS` + 10; this leaves 2 s of
 * that margin for the signal's delivery and the process's exit.
 */
export const shutdownTailMs = 8_000;

/** What a shutdown gave up on when its budget ran out (job ids only: it is logged). */
export interface AbandonedSteps {
  /** Lease releases the control plane had not answered: those leases expire instead. */
  releases?: string[];
  /** Results still held in the outbox: those jobs are redelivered. */
  results?: string[];
  /** Handlers still running (their signal was aborted and their lease released). */
  handlers?: string[];
  deregister?: true;
  /** The admin servers and the Atlas clients (an OAuth token's revocation). */
  close?: true;
}

/**
 * One deadline for the whole shutdown tail, on the injected clock. It starts when the drain wait
 * ends (the drain deadline, the last job done, or a second signal); each step then waits at most
 * what is left, less what it keeps back for the steps after it, so a control plane that stops
 * answering or a handler that ignores its abort cannot push the exit past the pod's grace period.
 */
export class ShutdownBudget {
  private endsAt: number | undefined;
  private readonly given: AbandonedSteps = {};

  constructor(
    private readonly clock: Clock,
    readonly totalMs = shutdownTailMs,
  ) {}

  /** Starts the countdown; a later call keeps the first start. */
  start(): void {
    this.endsAt ??= this.clock.monotonic() + this.totalMs;
  }

  /**
   * Whole milliseconds left (a timer's delay must be an integer), less `reserveMs` kept for later
   * steps; the whole budget before `start`.
   */
  leftMs(reserveMs = 0): number {
    const left = this.endsAt === undefined ? this.totalMs : this.endsAt - this.clock.monotonic();
    return Math.max(0, Math.floor(left - reserveMs));
  }

  /**
   * Waits for `work` to settle, at most `capMs`, never into the last `reserveMs` of the budget, and
   * not once `stop` aborts (a second signal). True when `work` settled in time.
   */
  async within(
    work: Promise<unknown>,
    limits: { readonly capMs?: number; readonly reserveMs?: number; readonly stop?: AbortSignal } = {},
  ): Promise<boolean> {
    if (limits.stop?.aborted) return false;
    const ms = Math.min(limits.capMs ?? Number.POSITIVE_INFINITY, this.leftMs(limits.reserveMs));
    const timer = new AbortController();
    const signal = limits.stop ? AbortSignal.any([timer.signal, limits.stop]) : timer.signal;
    const settled = await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      this.clock.sleep(ms, signal).then(
        () => false,
        () => false,
      ),
    ]);
    timer.abort();
    return settled;
  }

  /** Records a step given up on; `steps()` lists them for the last log line. */
  abandon<K extends keyof AbandonedSteps>(step: K, value: NonNullable<AbandonedSteps[K]>): void {
    this.given[step] = value;
  }

  steps(): AbandonedSteps {
    return { ...this.given };
  }
}
