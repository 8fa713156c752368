import {
  cancelledError,
  ConnectorError,
  isConnectorError,
  toConnectorError,
} from '../errors/connector-error.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { SecretScrubber } from '../runtime/secret-scrubber.js';
import { guardWrites } from '../runtime/write-guard.js';

/** What a handler gets besides its payload. */
export interface JobContext {
  readonly jobId: string;
  readonly attempt: number;
  /** Strictly increasing per lease across the fleet: orders snapshot generations. */
  readonly fencingToken: number;
  readonly log: Logger;
  readonly clock: Clock;
  /**
   * Aborts on lease loss, cancellation, or a forced shutdown. Pass it to every Atlas call: it also
   * carries `beforeSideEffect`, which the Atlas transport runs before each attempt of a write.
   */
  readonly signal: AbortSignal;
  /**
   * Wall-clock epoch ms at which the claim that leased this job was sent. The control plane
   * resolves the job's integration configuration after that moment (docs/protocol.md), so what
   * was written before it was written under a configuration no newer than the job's.
   */
  readonly claimedAtMs: number;
  /** The key the control plane leased this job under (absent in unit tests that do not care). */
  readonly resourceKey?: string;
  /**
   * Call immediately before every side effect (every Atlas write). Throws if the lease is lost
   * or the job was cancelled, so a stale holder never writes after another took over.
   */
  beforeSideEffect(): void;
  /**
   * Call when the job is about to wait on Atlas (readiness polls after the last write, or a write
   * held back while its project's waiting batch settles), so the worker may start another job in
   * this one's slot. The job keeps its lease, its lease extensions, its abort signal and its place
   * in per-resourceKey ordering. The slot is not re-acquired: what follows runs off-slot, so it must
   * be paced by something else (a held job's writes are paced by the project's Atlas rate limit).
   * Idempotent; a no-op when the worker's waiting allowance (MAX_WAITING_JOBS) is used up.
   */
  releaseSlot(): void;
  /**
   * Feature `job-intent`: the latest intent an earlier attempt of this job recorded, or null (a
   * first attempt, or a server without the feature).
   */
  readonly intent: unknown;
  /**
   * Records, fenced by this attempt's lease, what the job is about to change (docs/protocol.md
   * §4.7a). Await it before the first write it covers: when it throws, do not write.
   */
  recordIntent(intent: unknown): Promise<void>;
  /**
   * An error as a result, a snapshot record or a report may carry it (a sweep's per-user errors,
   * a discovery's reasons): what a failure would report (`describeError`). Only the error's text
   * is scrubbed, never a whole result: a grant's result carries its password on purpose.
   */
  describe(error: unknown): string;
  /**
   * A sweep's count of what it could not clean up: the entries of its result's `failures` (org
   * portal) or `errors` (database access), each access that may outlive its end. Counted in
   * `atlas_connector_sweep_failures_total` once the control plane accepts the result.
   */
  countSweepFailures(count: number): void;
}

/**
 * The text that may leave the process for an error: its safe message (anything not a
 * ConnectorError is `unexpected error: …`) through the logs' secret scrubber, then cut to the
 * protocol's 1024 characters, exactly as `failure` reports it. An error's message is written by
 * whatever code threw (Atlas echoing a request, a driver, a proxy) and may hold a secret.
 */
export function describeError(error: unknown, scrubber: Pick<SecretScrubber, 'scrub'>): string {
  return toConnectorError(error).toSafeJSON((text) => scrubber.scrub(text)).message;
}

export type JobContextOptions = Omit<
  JobContext,
  | 'beforeSideEffect'
  | 'releaseSlot'
  | 'intent'
  | 'recordIntent'
  | 'describe'
  | 'claimedAtMs'
  | 'countSweepFailures'
> &
  /** `claimedAtMs` absent (a context made outside a claim: doctor, tests): the clock's now. */
  Partial<
    Pick<JobContext, 'releaseSlot' | 'intent' | 'recordIntent' | 'claimedAtMs' | 'countSweepFailures'>
  > & {
    /** The logs' scrubber (the daemon's one): `describe` passes error text through it. */
    readonly scrubber: Pick<SecretScrubber, 'scrub'>;
    /**
     * Run first by `beforeSideEffect`: aborts `signal` when the lease has lapsed although its
     * keeper has not run yet to say so (an event-loop stall).
     */
    readonly checkLease?: () => void;
  };

function noIntentStore(): Promise<void> {
  return Promise.reject(
    new ConnectorError({ code: 'internal', message: 'this job context cannot record an intent' }),
  );
}

export function createJobContext({ checkLease, scrubber, ...options }: JobContextOptions): JobContext {
  const ctx: JobContext = {
    ...options,
    claimedAtMs: options.claimedAtMs ?? options.clock.now(),
    describe: (error) => describeError(error, scrubber),
    intent: options.intent ?? null,
    recordIntent: options.recordIntent ?? noIntentStore,
    releaseSlot: options.releaseSlot ?? (() => undefined),
    countSweepFailures: options.countSweepFailures ?? (() => undefined),
    beforeSideEffect() {
      checkLease?.();
      if (!options.signal.aborted) return;
      const reason: unknown = options.signal.reason;
      throw isConnectorError(reason) ? reason : cancelledError(reason);
    },
  };
  // Every attempt of an Atlas write given this signal, a retry after a wait included, is checked too.
  guardWrites(options.signal, () => ctx.beforeSideEffect());
  return ctx;
}

export function leaseLostError(jobId: string, why: string): ConnectorError {
  return new ConnectorError({
    code: 'lease_lost',
    message: `lease on job ${jobId} lost: ${why}`,
    details: { jobId },
  });
}
