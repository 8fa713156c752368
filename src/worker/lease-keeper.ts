import type { ControlPlaneClient } from '../control-plane/control-plane-client.js';
import type { LeaseRef } from '../control-plane/protocol.js';
import { isConnectorError, type ConnectorError } from '../errors/connector-error.js';
import { fullJitterDelay } from '../runtime/backoff.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { Random } from '../runtime/random.js';
import { leaseLostError } from './job-context.js';

export interface LeaseKeeperOptions {
  readonly lease: LeaseRef;
  readonly leaseTtlMs: number;
  /** Monotonic time at which the claim that granted the lease was *sent*: the deadline errs early. */
  readonly grantedAt: number;
  readonly client: Pick<ControlPlaneClient, 'extend'>;
  readonly clock: Clock;
  readonly random: Pick<Random, 'float'>;
  readonly log: Logger;
  readonly onLost: (error: ConnectorError, reason: 'deadline' | 'revoked') => void;
  readonly onCancelRequested: () => void;
  readonly onExtension?: (result: 'ok' | 'error' | 'lost') => void;
  /**
   * Until when (monotonic) the server keeps this session's leases past their TTL: the last
   * successful contact's send time + the advertised `sessionGraceMs`, less a margin
   * (docs/protocol.md §5.1), for a lease granted at `grantedAt` (`ControlPlaneContact`). Undefined:
   * the server ends leases at TTL, or may have ended this one.
   */
  readonly sessionHeldUntil?: (grantedAt: number) => number | undefined;
  /**
   * The job's result is being delivered. A refused extend then says nothing of a lost lease: the
   * server may have just taken that result (410 `job_gone`), and whether the lease still fenced it
   * is the result's answer to tell (docs/protocol.md §4.7). Nor does the local deadline passing (an
   * outage): the server takes a result whose lease lapsed while nobody leased the job since. The
   * keeper stops without declaring it.
   */
  readonly resultPending?: () => boolean;
}

const resultDecides = 'lease extension refused while the result is delivered; its answer decides';
const resultDecidesAtDeadline = 'lease deadline passed while the result is delivered; its answer decides';

/** Stop before the server would consider the lease expired. */
export function safetyMarginMs(leaseTtlMs: number): number {
  return Math.min(5_000, Math.floor(leaseTtlMs / 4));
}

export function leaseDeadline(sentAt: number, leaseTtlMs: number): number {
  return sentAt + leaseTtlMs - safetyMarginMs(leaseTtlMs);
}

/**
 * The control plane's own answer (a protocol code) to an extend or a release that the lease is gone:
 * 409 `lease_lost`, 410 `job_gone`, or 404 `not_found` (it knows no such job, so no lease of it can
 * be valid, §4.5). An intermediary's 404, 409 or 410 (no protocol body) says nothing of the lease (§2).
 */
export function leaseGoneAnswer(error: unknown): error is ConnectorError {
  return (
    isConnectorError(error) &&
    error.details.protocolCode !== undefined &&
    (error.code === 'conflict' || error.code === 'gone' || error.details.protocolCode === 'not_found')
  );
}

/**
 * Keeps one job's lease alive: extends every TTL/3, retries transient failures with full jitter
 * until the local deadline, and declares the lease lost on 409/410 (or a 404 for an unknown job)
 * or when the deadline passes unconfirmed. The deadline is computed on the monotonic clock from
 * each request's send time.
 */
export class LeaseKeeper {
  private deadline: number;
  private ttlMs: number;
  private lostError: ConnectorError | undefined;
  private readonly stopper = new AbortController();

  constructor(private readonly options: LeaseKeeperOptions) {
    this.ttlMs = options.leaseTtlMs;
    this.deadline = leaseDeadline(options.grantedAt, options.leaseTtlMs);
  }

  get lost(): ConnectorError | undefined {
    return this.lostError;
  }

  get deadlineMs(): number {
    return this.deadline;
  }

  /** The lease's own deadline, pushed out while the server still keeps a silent session's leases. */
  private effectiveDeadline(): number {
    const held = this.options.sessionHeldUntil?.(this.options.grantedAt);
    return held === undefined ? this.deadline : Math.max(this.deadline, held);
  }

  start(): void {
    void this.loop().catch((error: unknown) => {
      if (!this.stopper.signal.aborted)
        this.options.log.error({ err: error }, 'lease keeper stopped unexpectedly');
    });
  }

  stop(): void {
    this.stopper.abort();
  }

  /**
   * Declares the lease lost now if its deadline has passed: the loop notices only when its timer
   * fires, which an event-loop stall (a long synchronous parse, a GC pause) delays past the point
   * where the handler resumes and writes. Called before every side effect.
   */
  checkDeadline(): void {
    if (this.options.clock.monotonic() >= this.effectiveDeadline())
      this.markLost('local deadline passed without an extension', 'deadline');
  }

  private async loop(): Promise<void> {
    const { clock } = this.options;
    let lastConfirmed = this.options.grantedAt;
    let failures = 0;
    while (!this.stopper.signal.aborted) {
      const now = clock.monotonic();
      const renewAt = failures === 0 ? lastConfirmed + Math.floor(this.ttlMs / 3) : now;
      const wait = Math.min(Math.max(0, renewAt - now), Math.max(0, this.effectiveDeadline() - now));
      if (wait > 0) await clock.sleep(wait, this.stopper.signal);
      const deadline = this.effectiveDeadline();
      if (clock.monotonic() >= deadline) {
        // The server may still take the result (nobody leased the job since): its answer decides.
        if (this.options.resultPending?.()) return this.options.log.debug(resultDecidesAtDeadline);
        return this.markLost('local deadline passed without an extension', 'deadline');
      }
      const sentAt = clock.monotonic();
      try {
        const answer = await this.options.client.extend(
          this.options.lease,
          AbortSignal.any([
            this.stopper.signal,
            AbortSignal.timeout(Math.max(1, Math.ceil(Math.min(deadline - sentAt, this.ttlMs)))),
          ]),
        );
        this.ttlMs = answer.leaseTtlMs;
        this.deadline = leaseDeadline(sentAt, answer.leaseTtlMs);
        lastConfirmed = sentAt;
        failures = 0;
        this.options.onExtension?.('ok');
        if (answer.cancelRequested) this.options.onCancelRequested();
      } catch (error) {
        if (this.stopper.signal.aborted) return;
        // A 404 `not_found` ends the lease too: its session's hold (which heartbeats keep moving)
        // is no reason to retry until the job ends. A proxy's 404, 409 or 410 is retried like any
        // answer without a protocol code (§2).
        if (leaseGoneAnswer(error)) {
          if (this.options.resultPending?.()) return this.options.log.debug({ err: error }, resultDecides);
          return this.markLost(
            `control plane answered ${String(error.details.protocolCode ?? error.code)}`,
            'revoked',
          );
        }
        this.options.onExtension?.('error');
        const delay = fullJitterDelay(
          { baseMs: 250, capMs: 5_000 },
          failures,
          this.options.random,
          isConnectorError(error) ? error.retryAfterMs : undefined,
        );
        failures += 1;
        this.options.log.warn(
          { err: error, failures },
          'lease extension failed; retrying until the local deadline',
        );
        await clock.sleep(
          Math.min(delay, Math.max(0, this.effectiveDeadline() - clock.monotonic())),
          this.stopper.signal,
        );
      }
    }
  }

  private markLost(why: string, reason: 'deadline' | 'revoked'): void {
    if (this.lostError || this.stopper.signal.aborted) return;
    this.lostError = leaseLostError(this.options.lease.jobId, why);
    this.options.onExtension?.('lost');
    this.options.log.warn({ reason }, 'lease lost');
    this.options.onLost(this.lostError, reason);
  }
}
