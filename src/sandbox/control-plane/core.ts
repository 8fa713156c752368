import type { Clock } from '../../runtime/clock.js';
import type { Logger } from '../../runtime/logger.js';
import type { Random } from '../../runtime/random.js';
import { ClaimWaiters } from './claim-waiters.js';
import { FaultInjector, type RouteName } from './faults.js';
import { GrantLedger } from './grant-ledger.js';
import { JobStore } from './job-store.js';
import { SessionStore } from './session-store.js';
import { SnapshotStore } from './snapshot-store.js';
import type { Settings } from './types.js';

/** Everything one reference control plane instance holds; handed to the HTTP routes. */
export interface ControlPlaneCore {
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly settings: Settings;
  readonly jobs: JobStore;
  readonly ledger: GrantLedger;
  readonly sessions: SessionStore;
  readonly snapshots: SnapshotStore;
  readonly waiters: ClaimWaiters;
  readonly faults: FaultInjector;
  readonly requestCounts: Map<RouteName, number>;
}

export interface CoreOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly settings: Settings;
  readonly enrollmentToken: string;
}

export function createCore(options: CoreOptions): ControlPlaneCore {
  const { clock, random, settings } = options;
  const ledger = new GrantLedger({ clock, maxPayloadBytes: settings.maxPayloadBytes });
  const sessions = new SessionStore({ clock, random, settings, enrollmentToken: options.enrollmentToken });
  const jobs = new JobStore({
    clock,
    random,
    settings,
    ledger,
    onChange: () => waiters.wake(),
    holdsPastTtl: (lease) => sessions.holdsPastTtl(lease),
  });
  const waiters = new ClaimWaiters((waiter) =>
    jobs.claim(waiter.sessionId, waiter.request, sessions.get(waiter.sessionId)?.registration.connectorId),
  );
  return {
    clock,
    random,
    logger: options.logger,
    settings,
    jobs,
    ledger,
    waiters,
    sessions,
    snapshots: new SnapshotStore({ clock, random }),
    faults: new FaultInjector({ clock, random }),
    requestCounts: new Map(),
  };
}
