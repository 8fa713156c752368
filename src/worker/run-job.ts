import type { Policy } from '../config/env.js';
import { refusedBy, type ControlPlaneClient } from '../control-plane/control-plane-client.js';
import {
  maxJsonBodyBytes,
  serialiseResult,
  type JobEnvelope,
  type LeaseRef,
  type ResultRequest,
  type SerialisedResult,
} from '../control-plane/protocol.js';
import { cancelledError, ConnectorError, isConnectorError } from '../errors/connector-error.js';
import type { Metrics } from '../admin/metrics.js';
import { abortable } from '../runtime/abortable.js';
import { blipRetry, withRetry } from '../runtime/backoff.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { Random } from '../runtime/random.js';
import type { SecretScrubber } from '../runtime/secret-scrubber.js';
import { dispatch, failure, type JobOutcome } from './dispatch.js';
import { createJobContext, leaseLostError } from './job-context.js';
import type { JobRouter } from './job-handlers.js';
import { LeaseKeeper, leaseGoneAnswer } from './lease-keeper.js';
import { parseJob } from './parse-job.js';
import type { ResultOutbox } from './result-outbox.js';

export interface JobRunnerDeps {
  readonly client: Pick<ControlPlaneClient, 'extend' | 'release' | 'recordIntent'>;
  readonly outbox: ResultOutbox;
  readonly router: JobRouter;
  readonly policy: Policy;
  readonly maxPayloadBytes: number;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /**
   * The logs' scrubber: a failure's message passes through it before it is reported, and so does
   * the error text a result carries (`JobContext.describe`).
   */
  readonly scrubber: Pick<SecretScrubber, 'scrub'>;
  readonly metrics: Metrics;
  /** Parks the job (by its lease) off its worker slot; false when the worker refuses. Absent: never parks. */
  readonly releaseSlot?: (leaseId: string) => boolean;
  /** See `LeaseKeeperOptions.sessionHeldUntil`. */
  readonly sessionHeldUntil?: (grantedAt: number) => number | undefined;
  /**
   * The control plane's wall clock as this replica estimates it (its own plus the skew measured
   * on heartbeats): `notAfter` is the server's time. Absent: the replica's own clock.
   */
  readonly serverNow?: () => number;
}

/** The longest a release is waited for; unanswered, the lease expires on the server. */
const releaseTimeoutMs = 2_000;

/** One leased job, from lease to delivered result. The worker keeps these in its in-flight map. */
export class RunningJob {
  readonly lease: LeaseRef;
  /**
   * The `type` label of the job metrics: a type this build runs, else `unknown`. The envelope's type
   * is any string the control plane sends, and a label value must come from a bounded set.
   */
  private readonly metricType: string;
  readonly log: Logger;
  private readonly abort = new AbortController();
  private readonly keeper: LeaseKeeper;
  /**
   * Wall-clock epoch ms at which the claim that leased this job was sent, its first request when it
   * was retried (`JobContext.claimedAtMs`).
   */
  private readonly claimedAtMs: number;
  private released = false;
  /** The release call made by releaseLease, while or once it is answered (true: it was). */
  private releasing: Promise<boolean> | undefined;
  /** The server answered the release 409/410: the lease was already gone there. */
  private lostOnServer = false;
  /** How the keeper lost the lease, once it has. */
  private lostBy: 'deadline' | 'revoked' | undefined;
  private waiting = false;
  private handlerDone = false;
  /** An extend answered `cancelRequested`: the abort is the control plane's cancellation. */
  private cancelRequested = false;
  /** What this sweep could not clean up (`JobContext.countSweepFailures`). */
  private sweepFailures = 0;

  constructor(
    readonly envelope: JobEnvelope,
    grantedAt: number,
    private readonly deps: JobRunnerDeps,
    /** Set for an envelope the connector cannot read: the attempt is reported failed with it. */
    private readonly refused?: ConnectorError,
    /**
     * Monotonic time the claim's first request was sent, when the claim that leased this job is a
     * retry with the same `Idempotency-Key`: a replay hands back leases (and their configuration)
     * the first request may have taken. Defaults to `grantedAt`.
     */
    firstSentAt: number = grantedAt,
  ) {
    this.lease = { jobId: envelope.jobId, leaseId: envelope.leaseId, fencingToken: envelope.fencingToken };
    this.metricType = deps.router.handlerFor(envelope.type) ? envelope.type : 'unknown';
    // Monotonic times: the wall clock then is now less the time since (a claim's round trip, and its
    // earlier attempts). The lease's deadline runs from `grantedAt` (a replay renews the lease).
    const since = Math.min(grantedAt, firstSentAt);
    this.claimedAtMs = deps.clock.now() - Math.max(0, deps.clock.monotonic() - since);
    this.log = deps.logger.child({
      jobId: envelope.jobId,
      jobType: envelope.type,
      attempt: envelope.attempt,
      resourceKey: envelope.resourceKey,
    });
    this.keeper = new LeaseKeeper({
      lease: this.lease,
      leaseTtlMs: envelope.leaseTtlMs,
      grantedAt,
      client: deps.client,
      clock: deps.clock,
      random: deps.random,
      log: this.log,
      onLost: (error, reason) => {
        this.lostBy = reason;
        deps.metrics.leasesLost.inc({ reason });
        this.abort.abort(error);
      },
      onCancelRequested: () => {
        this.cancelRequested = true;
        this.abort.abort(
          new ConnectorError({ code: 'cancelled', message: 'the control plane cancelled the job' }),
        );
      },
      onExtension: (result) => deps.metrics.leaseExtensions.inc({ result }),
      sessionHeldUntil: deps.sessionHeldUntil,
      resultPending: () => this.handlerDone,
    });
  }

  /** The handler has finished; its result is being delivered (the drain does not release it). */
  get reporting(): boolean {
    return this.handlerDone;
  }

  get jobId(): string {
    return this.envelope.jobId;
  }

  /** Runs the job once `turn` resolves (local per-resource ordering); the lease is kept meanwhile. */
  async run(turn: Promise<void>): Promise<void> {
    const { metrics, clock } = this.deps;
    const type = this.metricType;
    this.keeper.start();
    metrics.jobsInFlight.inc({ type });
    metrics.jobsStarted.inc({ type });
    const started = clock.monotonic();
    const startedAt = new Date(clock.now()).toISOString();
    try {
      await abortable(turn, this.abort.signal);
      const outcome = await this.execute();
      metrics.jobDuration.observe({ type, outcome: outcome.outcome }, (clock.monotonic() - started) / 1000);
      await this.report(outcome, startedAt, clock.monotonic() - started);
    } catch (error) {
      // Only an abort while waiting for the turn lands here: nothing ran. A cancellation is reported
      // `cancelled` (§4.5) under the lease still held, so the job ends now instead of at the lease's
      // expiry; a release or a lost lease delivers no result.
      if (this.cancelRequested) {
        await this.report(
          failure(error, { log: this.log }, this.deps.scrubber),
          startedAt,
          clock.monotonic() - started,
        );
      } else {
        if (this.lostBy === 'deadline') this.releasing ??= this.releaseExpiring();
        this.finish(await this.endedWithoutResult(), clock.monotonic() - started, error);
      }
    } finally {
      this.keeper.stop();
      metrics.jobsInFlight.dec({ type });
    }
  }

  /**
   * Drain deadline or a server request: stop the handler and hand the job back. Resolves true once
   * the control plane answered the release, false when it did not (the lease expires there). A job
   * whose handler has finished keeps its lease: its result is being delivered, and released, the
   * job would run again (a heartbeat answered after the server took that result lists the lease).
   * Nor is a lease its keeper has already found lost (counted and logged then): the server has let
   * it go, or its aborted handler is still winding down (see `releaseExpiring`); resolves true, as
   * there is nothing left to hand back.
   */
  releaseLease(reason: 'shutdown' | 'lease_lost'): Promise<boolean> {
    if (this.handlerDone && !this.releasing) {
      this.log.debug({ reason }, 'lease release skipped: the result is being delivered');
      return Promise.resolve(false);
    }
    if (this.releasing) return this.releasing;
    if (this.keeper.lost) {
      this.log.debug({ reason }, 'lease release skipped: the lease is already lost');
      return Promise.resolve(true);
    }
    this.released = true;
    this.abort.abort(cancelledError(`lease released (${reason})`));
    this.keeper.stop();
    this.releasing = this.release(reason);
    return this.releasing;
  }

  private async release(reason: 'shutdown' | 'lease_lost'): Promise<boolean> {
    try {
      await this.deps.client.release(this.lease, reason, AbortSignal.timeout(releaseTimeoutMs));
      return true;
    } catch (error) {
      // 409/410 (or 404: no such job), its own answer: the server had already moved on from this
      // lease (protocol §4.3): it was lost. An intermediary's leaves the lease to expire there.
      if (leaseGoneAnswer(error)) {
        this.lostOnServer = true;
        this.deps.metrics.leasesLost.inc({ reason: 'revoked' });
        this.log.warn({ reason: 'revoked' }, 'lease lost');
        return true;
      }
      this.log.debug({ err: error }, 'lease release not confirmed; it will expire on the server');
      return false;
    }
  }

  /**
   * A lease its local deadline ended while the job waited for its turn: nothing ran, so it is handed
   * back (best effort, bounded like any release) and the job is redelivered now, not after the
   * server's TTL and the next heartbeat. Fenced: a lease already expired or leased again there is
   * answered 409 and nothing changes (docs/protocol.md §4.6). The keeper has counted and logged the
   * loss; this neither counts nor logs it again. A job whose handler ran is not released: its
   * aborted work may still be under way, and the margin before the server's TTL is its time to stop.
   */
  private async releaseExpiring(): Promise<boolean> {
    try {
      await this.deps.client.release(this.lease, 'lease_lost', AbortSignal.timeout(releaseTimeoutMs));
      this.log.debug('lease lost while the job waited for its turn; released for redelivery');
      return true;
    } catch (error) {
      this.log.debug({ err: error }, 'release of the lost lease not confirmed; it expires on the server');
      return false;
    }
  }

  /** How a job that delivers no result ended: its release's answer decides, once it is in. */
  private async endedWithoutResult(): Promise<'lease_lost' | 'released'> {
    await this.releasing;
    return this.keeper.lost || this.lostOnServer ? 'lease_lost' : 'released';
  }

  private releaseSlot(): void {
    if (this.waiting || !this.deps.releaseSlot?.(this.lease.leaseId)) return;
    this.waiting = true;
    this.log.debug('slot released; the job waits off-slot');
  }

  /**
   * Fenced by this lease; a stale holder never records (its signal is aborted, its local deadline
   * has passed, or the server says 409/410). That refusal is a lost lease, retryable: the server
   * still takes this attempt's report when its lease lapsed and nobody has leased the job since
   * (§4.7), and a `conflict` would then fail the job for good although nothing was written.
   */
  private async recordIntent(intent: unknown): Promise<void> {
    try {
      // A blip (a reset, a 503 while the control plane rolls) is retried within the attempt: failed
      // at once, the job would be requeued at once, and a few seconds of it used up every attempt.
      // Not a timeout, ours or a gateway's (504): that call may still reach the server after a
      // later, narrower intent of this lease and put its wider claim back; the next attempt's
      // lease fences it off instead.
      await withRetry(
        () => {
          // Checked before every call, a retry after its wait included, as before an Atlas write: an
          // event-loop stall may have carried the job past its deadline before the keeper's timer
          // ran, and the server would still take the intent of a lease in its last seconds.
          this.keeper.checkDeadline();
          if (this.abort.signal.aborted) return Promise.reject(this.abort.signal.reason);
          return this.deps.client.recordIntent(this.lease, this.envelope.attempt, intent, this.abort.signal);
        },
        {
          ...blipRetry,
          shouldRetry: (error) =>
            error.code !== 'timeout' && error.details.httpStatus !== 504 && blipRetry.shouldRetry(error),
          clock: this.deps.clock,
          random: this.deps.random,
          signal: this.abort.signal,
          onRetry: (error, attempt, delayMs) =>
            this.log.warn(
              { err: error, attempt: attempt + 1, delayMs },
              'recording the intent failed; retrying',
            ),
        },
      );
    } catch (error) {
      if (isConnectorError(error) && (error.code === 'conflict' || error.code === 'gone')) {
        const answer = String(error.details.protocolCode ?? error.code);
        throw leaseLostError(this.jobId, `the control plane refused the intent (${answer})`);
      }
      // The session the call needed could not be renewed (a token that expired mid-job meeting a
      // refused refresh, a token file unreadable mid-rotation): the intent endpoint was never asked
      // and nothing was written, so the job runs again once the session is back, not failed for good.
      if (isConnectorError(error) && !error.retryable && !refusedBy(error, 'intent')) {
        throw new ConnectorError({
          code: 'upstream_unavailable',
          message: `the intent could not be recorded: ${error.message}`,
          retryable: true,
          cause: error,
        });
      }
      throw error;
    }
  }

  private async execute(): Promise<JobOutcome> {
    const ctx = createJobContext({
      jobId: this.envelope.jobId,
      attempt: this.envelope.attempt,
      fencingToken: this.envelope.fencingToken,
      resourceKey: this.envelope.resourceKey,
      claimedAtMs: this.claimedAtMs,
      log: this.log,
      clock: this.deps.clock,
      signal: this.abort.signal,
      checkLease: () => this.keeper.checkDeadline(),
      releaseSlot: () => this.releaseSlot(),
      intent: this.envelope.intent ?? null,
      recordIntent: (intent) => this.recordIntent(intent),
      countSweepFailures: (count) => {
        this.sweepFailures += count;
      },
      scrubber: this.deps.scrubber,
    });
    try {
      if (this.refused) throw this.refused;
      const now = this.deps.serverNow?.() ?? this.deps.clock.now();
      // A revoke or sweep the server leased in time runs however late it starts (it may have
      // waited for its turn behind its resource key): the server lets a leased job finish, and
      // refused here it would leave access in place until a backstop. Access is not handed out late.
      if (!takesAccessAway(this.envelope.type) && now > Date.parse(this.envelope.notAfter)) {
        throw new ConnectorError({
          code: 'gone',
          message: `job notAfter ${this.envelope.notAfter} has passed; not executed`,
        });
      }
      const job = parseJob(this.envelope, this.deps.router, this.deps.policy, this.deps.maxPayloadBytes);
      return this.counted(await dispatch(job, ctx, this.deps.scrubber));
    } catch (error) {
      return this.counted(failure(error, ctx, this.deps.scrubber));
    }
  }

  /** Every policy denial counts, whether parsing the job or its handler refused it. */
  private counted(outcome: JobOutcome): JobOutcome {
    if (outcome.outcome === 'failed' && outcome.policyRule !== undefined) {
      this.deps.metrics.policyDenials.inc({ rule: outcome.policyRule });
    }
    return outcome;
  }

  private resultBody(outcome: JobOutcome, startedAt: string): ResultRequest {
    return {
      leaseId: this.lease.leaseId,
      fencingToken: this.lease.fencingToken,
      startedAt,
      finishedAt: new Date(this.deps.clock.now()).toISOString(),
      ...(outcome.outcome === 'succeeded'
        ? { outcome: 'succeeded' as const, result: outcome.result }
        : { outcome: 'failed' as const, error: outcome.error }),
    };
  }

  /**
   * A result over the protocol's body limit would be refused (413) and dropped, and one JSON cannot
   * encode (a BigInt, a cycle) would never be sent: either way the job would run again until it
   * dead-letters as `lease_expired`. It is reported as the failure it is instead. Serialised once,
   * here: the text measured is the text sent, on every attempt.
   */
  private reportable(
    outcome: JobOutcome,
    startedAt: string,
  ): { outcome: JobOutcome; result: SerialisedResult } {
    const body = this.resultBody(outcome, startedAt);
    let problem: ConnectorError;
    try {
      const result = serialiseResult(body);
      const size = Buffer.byteLength(result.json, 'utf8');
      if (size <= maxJsonBodyBytes) return { outcome, result };
      problem = new ConnectorError({
        code: 'internal',
        message: `the ${this.envelope.type} result is ${size} bytes, over the control-plane protocol's limit of ${maxJsonBodyBytes} bytes; it cannot be reported`,
      });
    } catch (error) {
      // The cause (kept local) may name the result's fields; the message that leaves does not.
      problem = new ConnectorError({
        code: 'internal',
        message: `the ${this.envelope.type} result could not be serialised to JSON; it cannot be reported`,
        cause: error,
      });
    }
    const unreportable = failure(problem, { log: this.log }, this.deps.scrubber);
    return { outcome: unreportable, result: serialiseResult(this.resultBody(unreportable, startedAt)) };
  }

  private async report(handled: JobOutcome, startedAt: string, durationMs: number): Promise<void> {
    if (this.keeper.lost || this.released) {
      this.finish(await this.endedWithoutResult(), durationMs);
      return;
    }
    const { outcome, result } = this.reportable(handled, startedAt);
    this.handlerDone = true;
    const delivery = await this.deps.outbox.deliver(this.envelope.jobId, this.envelope.attempt, result);
    // Only a result the control plane took ends the job: one it refused (another attempt owns the
    // job) or one dropped undelivered leaves the job to run again, so it counts as neither outcome.
    const accepted = delivery === 'accepted';
    this.deps.metrics.jobsCompleted.inc({
      type: this.metricType,
      outcome: accepted ? outcome.outcome : delivery,
    });
    if (accepted && this.envelope.type === 'discover' && outcome.outcome === 'succeeded') {
      this.deps.metrics.discoveryLastSuccess.set(this.deps.clock.now() / 1000);
    }
    if (accepted && outcome.outcome === 'failed') {
      this.deps.metrics.jobsFailed.inc({ type: this.metricType, code: outcome.error.code });
    }
    if (accepted && outcome.outcome === 'succeeded' && this.sweepFailures > 0) {
      // Only a kind this build serves reaches a handler that counts: a bounded label set.
      const kind = this.envelope.integration?.kind ?? 'unknown';
      this.deps.metrics.sweepFailures.inc({ kind }, this.sweepFailures);
      this.log.warn(
        { kind, sweepFailures: this.sweepFailures },
        "sweep could not clean up everything; the access it names in its result's failures or errors may outlive its end",
      );
    }
    this.log.info(
      {
        outcome: outcome.outcome,
        delivery,
        durationMs: Math.round(durationMs),
        ...(outcome.outcome === 'failed'
          ? { code: outcome.error.code, retryable: outcome.error.retryable }
          : {}),
      },
      'job finished',
    );
  }

  private finish(outcome: 'lease_lost' | 'released', durationMs: number, error?: unknown): void {
    this.deps.metrics.jobsCompleted.inc({ type: this.metricType, outcome });
    this.log.warn(
      { outcome, durationMs: Math.round(durationMs), err: error },
      'job finished without a result; the control plane will redeliver it',
    );
  }
}

/** Job types that only take access away, which no deadline of their own should stop. */
function takesAccessAway(type: string): boolean {
  return type === 'revoke' || type === 'sweep';
}
