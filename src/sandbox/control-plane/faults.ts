import { z } from 'zod';
import type { Clock } from '../../runtime/clock.js';
import type { Random } from '../../runtime/random.js';

/** Route names, as in `paths` of the protocol; faults and request counts are keyed by them. */
export const RouteName = z.enum([
  'register',
  'refreshToken',
  'heartbeat',
  'claim',
  'deregister',
  'extend',
  'release',
  'intent',
  'result',
  'snapshots',
  'snapshotPart',
  'snapshotCommit',
  'integrations',
]);
export type RouteName = z.infer<typeof RouteName>;

export const FaultSettings = z.strictObject({
  /** Every matching request has its connection destroyed, for this long from now. */
  unavailableForMs: z.number().int().nonnegative().optional(),
  /** Probability of answering `503 unavailable` with `Retry-After: 1`. */
  errorRate: z.number().min(0).max(1).optional(),
  /** Added before each matching request is handled. */
  delayMs: z.number().int().nonnegative().optional(),
  /** Limits the faults to these routes; all protocol routes when absent. */
  routes: z.array(RouteName).optional(),
});
export type FaultSettings = z.infer<typeof FaultSettings>;

export interface FaultView extends FaultSettings {
  readonly unavailableRemainingMs: number;
}

export type FaultDecision =
  { readonly kind: 'drop' } | { readonly kind: 'error' } | { readonly kind: 'none' };

/** Fault injection for the protocol routes (never the admin API, so a test can always undo it). */
export class FaultInjector {
  private settings: FaultSettings = {};
  private unavailableUntil = 0;

  constructor(private readonly deps: { clock: Pick<Clock, 'monotonic'>; random: Pick<Random, 'float'> }) {}

  /** Replaces the current faults. */
  set(settings: FaultSettings): void {
    const parsed = FaultSettings.parse(settings);
    this.settings = parsed;
    this.unavailableUntil = this.deps.clock.monotonic() + (parsed.unavailableForMs ?? 0);
  }

  clear(): void {
    this.set({});
  }

  current(): FaultView {
    const remaining = Math.max(0, this.unavailableUntil - this.deps.clock.monotonic());
    return { ...this.settings, unavailableRemainingMs: remaining };
  }

  delayFor(route: RouteName | undefined): number {
    return this.applies(route) ? (this.settings.delayMs ?? 0) : 0;
  }

  /** Drop first (an outage), then the random error; the delay is applied by the caller before. */
  decide(route: RouteName | undefined): FaultDecision {
    if (!this.applies(route)) return { kind: 'none' };
    if (this.deps.clock.monotonic() < this.unavailableUntil) return { kind: 'drop' };
    const rate = this.settings.errorRate ?? 0;
    if (rate > 0 && this.deps.random.float() < rate) return { kind: 'error' };
    return { kind: 'none' };
  }

  private applies(route: RouteName | undefined): boolean {
    const routes = this.settings.routes;
    return routes === undefined || (route !== undefined && routes.includes(route));
  }
}
