import type { Clock } from '../../runtime/clock.js';

export interface InvitationPacerOptions {
  /** Invitations allowed per window per organization (Atlas: 10). */
  readonly limit: number;
  /** Atlas's window is one minute. */
  readonly windowMs: number;
}

/**
 * Paces organization invitations: at most `limit` per `windowMs` per organization, across every job
 * of the daemon (one instance, built in the composition root). Atlas counts an invitation when it
 * arrives, which is before its answer comes back but after it was sent: a slot is therefore taken
 * when the invitation is sent and dated when its answer has come back (`done`), so the window here
 * never starts earlier than Atlas's. Each window is also 2 % longer (at least 50 ms).
 */
export class InvitationPacer {
  /** Per organization: when each recent invitation's answer came back (Infinity while in flight). */
  private readonly sent = new Map<string, { at: number }[]>();
  private readonly spacingMs: number;

  constructor(
    private readonly clock: Pick<Clock, 'monotonic' | 'sleep'>,
    private readonly options: InvitationPacerOptions,
  ) {
    this.spacingMs = options.windowMs + Math.max(50, Math.ceil(options.windowMs * 0.02));
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
      if (recent.length < this.options.limit) {
        const slot = { at: Number.POSITIVE_INFINITY };
        recent.push(slot);
        return () => {
          slot.at = this.clock.monotonic();
        };
      }
      const oldest = Math.min(...recent.map((slot) => slot.at));
      // Every slot in flight: look again shortly (an answer dates its slot).
      await this.clock.sleep(Number.isFinite(oldest) ? oldest + this.spacingMs - now : 100, signal);
    }
  }

  /** Atlas refused an invitation anyway (another client shares the org): hold the org off for `ms`. */
  holdOff(orgId: string, ms: number): void {
    const at = this.clock.monotonic() + ms - this.spacingMs;
    this.sent.set(
      orgId,
      Array.from({ length: this.options.limit }, () => ({ at })),
    );
  }
}
