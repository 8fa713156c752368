import type { Intervals } from '../control-plane/protocol.js';
import type { Clock } from '../runtime/clock.js';
import { safetyMarginMs } from './lease-keeper.js';

const clampInterval = (value: number, min: number, max: number): number =>
  Math.min(max, Math.max(min, value));

/**
 * What the worker knows of its contact with the control plane: when it last answered, whether a
 * call has failed since (an outage), and the intervals the server asked for. A return of contact
 * after a failure is announced once, through `onBack`, and ends any backoff waiting on
 * `backSignal`.
 */
export class ControlPlaneContact {
  intervals: Intervals = { heartbeatMs: 15_000, pollWaitMs: 25_000, leaseTtlMs: 60_000 };
  private lastContact: number | undefined;
  /** Send time of the last request the control plane answered: the server's silence clock starts no earlier. */
  private lastAnsweredSentAt: number | undefined;
  /**
   * Send time of the latest answered request that may have reached the server after the session's
   * hold had lapsed (the process was frozen, say, past the grace): the server may have declared the
   * session dead by then and expired its leases, so only leases granted from then on are held by
   * later answers.
   */
  private heldSince: number | undefined;
  /** Set by a failed control-plane call; the next answer is a return of contact. */
  private outOfContact = false;
  /** Aborted (and replaced) when contact returns, to end the claim loop's backoff. */
  private contactBack = new AbortController();

  constructor(
    private readonly clock: Clock,
    private readonly onAnswer: () => void,
    private readonly onBack: () => void,
  ) {}

  /** Aborted when contact returns after a failure. */
  get backSignal(): AbortSignal {
    return this.contactBack.signal;
  }

  /** Monotonic ms since the last answer, or null before the first. */
  agoMs(): number | null {
    return this.lastContact === undefined ? null : this.clock.monotonic() - this.lastContact;
  }

  /** An answer from the control plane to a request sent at `sentAt` (monotonic). */
  answered(sentAt: number): void {
    const heldUntil = this.heldUntil();
    const now = this.clock.monotonic();
    // The server received the request at some time between its send and now: only an answer that
    // arrives within the hold proves the session was alive then. A request sent within it may have
    // got there after (a freeze before its bytes left, retransmissions as a partition heals).
    if (heldUntil !== undefined && now > heldUntil)
      this.heldSince = Math.max(this.heldSince ?? sentAt, sentAt);
    this.lastContact = now;
    this.lastAnsweredSentAt = Math.max(this.lastAnsweredSentAt ?? sentAt, sentAt);
    this.onAnswer();
    if (!this.outOfContact) return;
    this.outOfContact = false;
    this.onBack();
    const previous = this.contactBack;
    this.contactBack = new AbortController();
    previous.abort();
  }

  failed(): void {
    this.outOfContact = true;
  }

  /**
   * Takes the server's intervals, clamped to what the worker can honour. A heartbeat sends only
   * those that changed; a registration sends them all (`complete`), so a `sessionGraceMs` it leaves
   * out is none: that control plane ends leases at their TTL (§5.1).
   */
  applyIntervals(next: Partial<Intervals>, complete = false): void {
    const current = this.intervals;
    const sessionGraceMs = complete ? next.sessionGraceMs : (next.sessionGraceMs ?? current.sessionGraceMs);
    this.intervals = {
      heartbeatMs: clampInterval(next.heartbeatMs ?? current.heartbeatMs, 500, 60_000),
      pollWaitMs: clampInterval(next.pollWaitMs ?? current.pollWaitMs, 0, 50_000),
      leaseTtlMs: next.leaseTtlMs ?? current.leaseTtlMs,
      ...(sessionGraceMs === undefined ? {} : { sessionGraceMs }),
    };
  }

  /**
   * Until when the server keeps this session's leases though they are past their TTL
   * (docs/protocol.md §5.1): its silence clock starts at our last answered send, at the latest. For
   * a lease granted (its claim sent) at `grantedAt`: a lease granted before the hold last lapsed is
   * not held at all, whatever was answered since — the server may have expired it while the
   * session was silent, and an answer after that must not make it look alive again.
   */
  sessionHeldUntil(grantedAt: number): number | undefined {
    if (this.heldSince !== undefined && grantedAt < this.heldSince) return undefined;
    return this.heldUntil();
  }

  private heldUntil(): number | undefined {
    const graceMs = this.intervals.sessionGraceMs;
    if (!graceMs || this.lastAnsweredSentAt === undefined) return undefined;
    return this.lastAnsweredSentAt + graceMs - safetyMarginMs(this.intervals.leaseTtlMs);
  }
}
