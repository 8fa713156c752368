import type { Clock } from '../../runtime/clock.js';

export interface InvitationPacerOptions {
  /** Invitations allowed per window, per organization and for the daemon as a whole (Atlas: 10). */
  readonly limit: number;
  /** Atlas's window is one minute. */
  readonly windowMs: number;
}

/** One invitation: when its answer came back (Infinity while in flight). */
interface Slot {
  at: number;
}

/**
 * Paces organization invitations: at most `limit` per `windowMs` per organization, and as many for
 * the whole daemon, every organization together (one instance, built in the composition root and
 * shared by every org-portal integration). Atlas's invitation limit is per IP
 * (`INVITATIONS_RATE_LIMITED_IP`): a daemon serving integrations on two organizations sends from
 * one address, and pacing each organization alone would let it send twice the limit. Atlas counts
 * an invitation when it arrives, which is before its answer comes back but after it was sent: a
 * slot is therefore taken when the invitation is sent and dated when its answer has come back
 * (`done`), so the window here never starts earlier than Atlas's. Each window is also 2 % longer
 * (at least 50 ms).
 */
export class InvitationPacer {
  /** Per organization: the recent invitations. */
  private readonly sent = new Map<string, Slot[]>();
  /** Every organization's recent invitations together: the daemon's address's share. */
  private all: Slot[] = [];
  private readonly spacingMs: number;

  constructor(
    private readonly clock: Pick<Clock, 'monotonic' | 'sleep'>,
    private readonly options: InvitationPacerOptions,
  ) {
    this.spacingMs = options.windowMs + Math.max(50, Math.ceil(options.windowMs * 0.02));
  }

  /** How long until `slots` leave room for one more (0: now). */
  private waitFor(slots: readonly Slot[], now: number): number {
    if (slots.length < this.options.limit) return 0;
    const oldest = Math.min(...slots.map((slot) => slot.at));
    // Every slot in flight: look again shortly (an answer dates its slot).
    return Number.isFinite(oldest) ? oldest + this.spacingMs - now : 100;
  }

  /**
   * Resolves when one more invitation may be sent to `orgId`; call the returned `done` once its
   * answer (or failure) has come back, in a `finally`.
   */
  async acquire(orgId: string, signal?: AbortSignal): Promise<() => void> {
    for (;;) {
      const now = this.clock.monotonic();
      const recent = (this.sent.get(orgId) ?? []).filter((slot) => slot.at > now - this.spacingMs);
      this.sent.set(orgId, recent);
      this.all = this.all.filter((slot) => slot.at > now - this.spacingMs);
      const wait = Math.max(this.waitFor(recent, now), this.waitFor(this.all, now));
      if (wait <= 0) {
        const slot: Slot = { at: Number.POSITIVE_INFINITY };
        recent.push(slot);
        this.all.push(slot);
        return () => {
          slot.at = this.clock.monotonic();
        };
      }
      await this.clock.sleep(wait, signal);
    }
  }

  /**
   * Atlas refused an invitation anyway (another client shares the address or the organization):
   * hold every invitation of the daemon off for `ms`, `orgId`'s and the other organizations' (the
   * limit is per IP). The invitations still in flight keep their slots.
   */
  holdOff(orgId: string, ms: number): void {
    const at = this.clock.monotonic() + ms - this.spacingMs;
    const held = (): Slot[] => Array.from({ length: this.options.limit }, () => ({ at }));
    this.sent.set(orgId, [...(this.sent.get(orgId) ?? []), ...held()]);
    this.all = [...this.all, ...held()];
  }
}
