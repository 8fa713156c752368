import type { Clock } from '../../runtime/clock.js';

export interface InvitationPacerOptions {
  /** Invitations allowed per window for the daemon as a whole, every organization together (Atlas: 10). */
  readonly limit: number;
  /** Atlas's window is one minute. */
  readonly windowMs: number;
}

/** One invitation: when its answer came back (Infinity while in flight). */
interface Slot {
  at: number;
}

/**
 * Paces organization invitations: at most `limit` per `windowMs` for the whole daemon, every
 * organization together (one instance, built in the composition root and shared by every
 * org-portal integration). Atlas's invitation limit is per IP (`INVITATIONS_RATE_LIMITED_IP`): a
 * daemon serving integrations on two organizations sends from one address, so one window for the
 * daemon is the limit that binds (a window per organization, with the same limit, never would).
 * Atlas counts an invitation when it arrives, which is before its answer comes back but after it
 * was sent: a slot is therefore taken when the invitation is sent and dated when its answer has
 * come back (`done`), so the window here never starts earlier than Atlas's. The window is also 2 %
 * longer (at least 50 ms).
 */
export class InvitationPacer {
  /** The daemon's recent invitations: its address's share of Atlas's limit (at most `limit`). */
  private recent: Slot[] = [];
  /** Monotonic time before which no invitation is sent (Atlas refused one); one number, not slots. */
  private heldUntil = Number.NEGATIVE_INFINITY;
  private readonly spacingMs: number;

  constructor(
    private readonly clock: Pick<Clock, 'monotonic' | 'sleep'>,
    private readonly options: InvitationPacerOptions,
  ) {
    this.spacingMs = options.windowMs + Math.max(50, Math.ceil(options.windowMs * 0.02));
  }

  /** How long until the window leaves room for one more (0: now). */
  private waitFor(now: number): number {
    if (this.recent.length < this.options.limit) return 0;
    const oldest = this.recent.reduce((min, slot) => Math.min(min, slot.at), Number.POSITIVE_INFINITY);
    // Every slot in flight: look again shortly (an answer dates its slot).
    return Number.isFinite(oldest) ? oldest + this.spacingMs - now : 100;
  }

  /**
   * Resolves when one more invitation may be sent; call the returned `done` once its answer (or
   * failure) has come back, in a `finally`.
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    for (;;) {
      const now = this.clock.monotonic();
      this.recent = this.recent.filter((slot) => slot.at > now - this.spacingMs);
      const wait = Math.max(this.heldUntil - now, this.waitFor(now));
      if (wait <= 0) {
        const slot: Slot = { at: Number.POSITIVE_INFINITY };
        this.recent.push(slot);
        return () => {
          slot.at = this.clock.monotonic();
        };
      }
      await this.clock.sleep(wait, signal);
    }
  }

  /**
   * Atlas refused an invitation anyway (another client shares the address): hold every invitation
   * of the daemon off for `ms`, whatever its organization (the limit is per IP). The invitations
   * still in flight keep their slots; repeated refusals extend the hold, they do not add slots.
   */
  holdOff(ms: number): void {
    this.heldUntil = Math.max(this.heldUntil, this.clock.monotonic() + ms);
  }
}
