import PQueue from 'p-queue';

export interface SlotLimits {
  /** Jobs that hold a slot (work) at once. */
  readonly maxConcurrentJobs: number;
  /** Jobs that gave their slot back to wait on Atlas, at once; 0 turns parking off. */
  readonly maxWaitingJobs: number;
}

/**
 * Slot accounting for the worker. A job holds one of `maxConcurrentJobs` slots from the moment it
 * is accepted; a job that only waits may park, giving its slot back while it keeps its lease.
 * The queue's concurrency rises by one per parked job and falls back before that job's task
 * ends, so at most `maxConcurrentJobs` unparked jobs ever run. Keyed by lease, not by job: an
 * earlier lease of a job may still be ending here (its release in flight) when a later lease of
 * that job starts, and the earlier task's end must not take the later one's entries with it.
 */
export class JobSlots {
  private readonly queue: PQueue;
  private readonly running = new Set<string>();
  private readonly parked = new Set<string>();
  private inFlight = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly limits: SlotLimits,
    private readonly onWaiting: (count: number) => void = () => undefined,
  ) {
    this.queue = new PQueue({ concurrency: limits.maxConcurrentJobs });
  }

  /** The leases of the jobs parked off-slot. */
  get waitingLeaseIds(): string[] {
    return [...this.parked];
  }

  /** How many more jobs a claim may ask for: a free slot, within the total lease allowance. */
  get free(): number {
    const { maxConcurrentJobs, maxWaitingJobs } = this.limits;
    const active = this.inFlight - this.parked.size;
    return Math.max(
      0,
      Math.min(maxConcurrentJobs - active, maxConcurrentJobs + maxWaitingJobs - this.inFlight),
    );
  }

  /** Queues a lease's task; it counts as in flight until the task ends. */
  run(leaseId: string, task: () => Promise<void>): Promise<void> {
    this.inFlight += 1;
    return this.queue.add(async () => {
      this.running.add(leaseId);
      try {
        await task();
      } finally {
        this.running.delete(leaseId);
        // Before the queue sees the task end, or it would start a queued job in the parked slot.
        if (this.parked.delete(leaseId)) this.queue.concurrency -= 1;
        this.inFlight -= 1;
        this.changed();
      }
    });
  }

  /** Gives a running lease's slot back; false (and nothing changes) when it may not park. */
  park(leaseId: string): boolean {
    if (this.parked.has(leaseId)) return true;
    if (!this.running.has(leaseId) || this.parked.size >= this.limits.maxWaitingJobs) return false;
    this.parked.add(leaseId);
    this.queue.concurrency += 1;
    this.changed();
    return true;
  }

  /** Resolves once a claim may ask for a job, or when `signal` aborts. */
  async whenFree(signal: AbortSignal): Promise<void> {
    while (this.free === 0 && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  onIdle(): Promise<void> {
    return this.queue.onIdle();
  }

  private changed(): void {
    this.onWaiting(this.parked.size);
    this.wake?.();
    this.wake = undefined;
  }
}
