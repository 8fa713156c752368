import type { ClaimRequest, JobEnvelope } from '../../control-plane/protocol.js';

/** A long-poll claim being held open. */
export interface ClaimWaiter {
  readonly sessionId: string;
  readonly idempotencyKey: string | undefined;
  readonly request: ClaimRequest;
  /** False once the response can no longer be written: such a waiter is never handed a job. */
  isOpen(): boolean;
  /** Writes the jobs out; called synchronously right after they were leased. */
  deliver(jobs: JobEnvelope[]): void;
  /** Ends the hold with `204`. */
  end(): void;
}

/**
 * Held claims, served first come first served. Wake-ups are event-driven: the job store reports
 * every change that can make a job claimable, and one microtask later each open waiter tries to
 * lease. Checking `isOpen` and delivering in the same synchronous step is what keeps a job from
 * ever being leased to a request that is already gone.
 */
export class ClaimWaiters {
  private readonly waiters: ClaimWaiter[] = [];
  private scheduled = false;

  constructor(private readonly lease: (waiter: ClaimWaiter) => JobEnvelope[]) {}

  get size(): number {
    return this.waiters.length;
  }

  add(waiter: ClaimWaiter): void {
    this.waiters.push(waiter);
  }

  remove(waiter: ClaimWaiter): void {
    const index = this.waiters.indexOf(waiter);
    if (index >= 0) this.waiters.splice(index, 1);
  }

  /** Coalesces bursts of changes (a sweep expiring many leases) into one pass. */
  wake(): void {
    if (this.scheduled || this.waiters.length === 0) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.dispatch();
    });
  }

  /** Ends (with 204) every held claim matching `predicate`. */
  endWhere(predicate: (waiter: ClaimWaiter) => boolean): void {
    for (const waiter of this.waiters.filter(predicate)) {
      this.remove(waiter);
      waiter.end();
    }
  }

  private dispatch(): void {
    for (const waiter of [...this.waiters]) {
      if (!waiter.isOpen()) {
        this.remove(waiter);
        continue;
      }
      const jobs = this.lease(waiter);
      if (jobs.length === 0) continue;
      this.remove(waiter);
      waiter.deliver(jobs);
    }
  }
}
