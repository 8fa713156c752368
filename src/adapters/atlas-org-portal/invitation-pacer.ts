import type { Clock } from '../../runtime/clock.js';

export interface InvitationPacerOptions {
  /** Invitations allowed per window per organization (Atlas: 10). */
  readonly limit: number;
  /** Atlas's window is one minute. */
  readonly windowMs: number;
}

/**
 * Paces organization invitations: at most `limit` per `windowMs` per organization, across every job
 * of the daemon (one instance, built in the composition root). Atlas counts invitations when they
 * arrive, which is later than when they are sent here; each window is therefore 2 % longer (at
 * least 50 ms) so that round-trip jitter cannot land an invitation inside Atlas's previous minute.
 */
export class InvitationPacer {
  /** Monotonic send times of the recent invitations, per organization. */
  private readonly sent = new Map<string, number[]>();
  private readonly spacingMs: number;

  constructor(
    private readonly clock: Pick<Clock, 'monotonic' | 'sleep'>,
    private readonly options: InvitationPacerOptions,
  ) {
    this.spacingMs = options.windowMs + Math.max(50, Math.ceil(options.windowMs * 0.02));
  }

  /** Resolves when one more invitation may be sent to `orgId`, and counts it as sent. */
  async acquire(orgId: string, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = this.clock.monotonic();
      const recent = (this.sent.get(orgId) ?? []).filter((t) => t > now - this.spacingMs);
      this.sent.set(orgId, recent);
      const oldest = recent[0];
      if (recent.length < this.options.limit || oldest === undefined) {
        recent.push(now);
        return;
      }
      await this.clock.sleep(oldest + this.spacingMs - now, signal);
    }
  }

  /** Atlas refused an invitation anyway (another client shares the org): hold the org off for `ms`. */
  holdOff(orgId: string, ms: number): void {
    const until = this.clock.monotonic() + ms - this.spacingMs;
    this.sent.set(
      orgId,
      Array.from({ length: this.options.limit }, () => until),
    );
  }
}
