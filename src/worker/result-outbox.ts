import { refusedBy, type ControlPlaneClient } from '../control-plane/control-plane-client.js';
import type { SerialisedResult } from '../control-plane/protocol.js';
import { fullJitterDelay } from '../runtime/backoff.js';
import type { Clock } from '../runtime/clock.js';
import { linkedSignal } from '../runtime/deadline-signal.js';
import type { Logger } from '../runtime/logger.js';
import type { Random } from '../runtime/random.js';
import { FailureLogPace } from './failure-log-pace.js';
import { controlPlaneHint } from './registration.js';

export type DeliveryResult = 'accepted' | 'rejected' | 'dropped';

export interface OutboxOptions {
  readonly client: Pick<ControlPlaneClient, 'submitResult'>;
  readonly clock: Clock;
  readonly random: Pick<Random, 'float'>;
  readonly log: Logger;
  /** Give up on a result this long after it was produced (agent-protocols §7.5: up to 1 h). */
  readonly maxAgeMs?: number;
  readonly onDepth?: (depth: number) => void;
  readonly onAttempt?: (result: 'accepted' | 'retry' | 'rejected' | 'dropped') => void;
}

interface Entry {
  readonly jobId: string;
  readonly attempt: number;
  /** Serialised once: every attempt sends the same text under the same idempotency key. */
  readonly result: SerialisedResult;
}

/**
 * Results wait here until the control plane accepts them. Each is retried with full jitter
 * (base 1 s, cap 60 s, never below `Retry-After`) while the control plane is unreachable, and at
 * once when contact returns (`wake`); the caller keeps the lease meanwhile and claims nothing new
 * until the outbox is empty (docs/protocol.md §5.1). A result leaves only when accepted, when the server
 * refuses it for good (stale fence, job gone, key mismatch), or when the outbox is aborted at the
 * end of a drain — then the control plane redelivers the job and the idempotent handler rebuilds it.
 */
export class ResultOutbox {
  private readonly pending = new Set<Entry>();
  private readonly stopper = new AbortController();
  /** Aborted (and replaced) to end every backoff at once: contact is back. */
  private waker = new AbortController();
  private emptied: (() => void)[] = [];

  constructor(private readonly options: OutboxOptions) {}

  get depth(): number {
    return this.pending.size;
  }

  /**
   * Contact with the control plane is back: every held result is retried now, not after its
   * backoff (up to 60 s), so it reaches the server before the lease could go to another replica.
   */
  wake(): void {
    const previous = this.waker;
    this.waker = new AbortController();
    previous.abort();
  }

  /** The jobs whose results are held (ids only: a shutdown logs the ones it gives up on). */
  heldJobIds(): string[] {
    return [...this.pending].map((entry) => entry.jobId);
  }

  /** Resolves when no result is held (at once if none is). */
  whenEmpty(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.emptied.push(resolve));
  }

  /** Gives up on every pending result now (the end of a drain, or a forced stop). */
  abandonAll(): void {
    this.stopper.abort();
  }

  async deliver(jobId: string, attempt: number, result: SerialisedResult): Promise<DeliveryResult> {
    const entry: Entry = { jobId, attempt, result };
    this.pending.add(entry);
    this.options.onDepth?.(this.pending.size);
    try {
      return await this.attemptUntilSettled(entry);
    } finally {
      this.pending.delete(entry);
      this.options.onDepth?.(this.pending.size);
      if (this.pending.size === 0) for (const resolve of this.emptied.splice(0)) resolve();
    }
  }

  private async attemptUntilSettled(entry: Entry): Promise<DeliveryResult> {
    const { clock, log } = this.options;
    const giveUpAt = clock.monotonic() + (this.options.maxAgeMs ?? 3_600_000);
    const pace = new FailureLogPace(() => clock.monotonic());
    for (let failures = 0; ; failures += 1) {
      if (this.stopper.signal.aborted || clock.monotonic() >= giveUpAt) return this.dropped(entry);
      try {
        await this.options.client.submitResult(entry.jobId, entry.attempt, entry.result, this.stopper.signal);
        this.options.onAttempt?.('accepted');
        // This result got through after failing: the others waiting on their backoff go now too.
        if (failures > 0) this.wake();
        return 'accepted';
      } catch (error) {
        if (this.stopper.signal.aborted) return this.dropped(entry);
        // A refusal of the result itself ends it; a session that could not be renewed keeps it.
        if (refusedBy(error, 'result')) {
          this.options.onAttempt?.('rejected');
          log.warn(
            { err: error, jobId: entry.jobId, attempt: entry.attempt },
            'control plane refused the result; another attempt owns the job',
          );
          return 'rejected';
        }
        this.options.onAttempt?.('retry');
        // A hint is capped as the claim loop caps it, and the wait never outlasts the result's life:
        // a day-long `Retry-After` would otherwise hold the result, and every claim, for a day.
        const delay = Math.min(
          fullJitterDelay(
            { baseMs: 1_000, capMs: 60_000 },
            failures,
            this.options.random,
            controlPlaneHint(error),
          ),
          Math.max(0, giveUpAt - clock.monotonic()),
        );
        log[pace.level()](
          { err: error, jobId: entry.jobId, failures: failures + 1, delayMs: delay },
          'result not delivered; will retry',
        );
        const sleeping = linkedSignal(this.stopper.signal, this.waker.signal);
        await clock
          .sleep(delay, sleeping.signal)
          .catch(() => undefined)
          .finally(() => sleeping.release());
      }
    }
  }

  private dropped(entry: Entry): DeliveryResult {
    this.options.onAttempt?.('dropped');
    this.options.log.warn(
      { jobId: entry.jobId, attempt: entry.attempt },
      'result dropped undelivered; the job will be redelivered',
    );
    return 'dropped';
  }
}
