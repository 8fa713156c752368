import type { HeartbeatAction, IntegrationRef, Intervals, JobState } from '../../control-plane/protocol.js';
import type { ControlPlaneCore } from './core.js';
import type { RouteName } from './faults.js';
import type { LedgerEntry } from './grant-ledger.js';
import { protocolError } from './protocol-errors.js';
import { defaultSessionGraceMs, type JobView } from './types.js';
import {
  jobView,
  resultViews,
  sessionView,
  snapshotView,
  type ResultView,
  type SessionView,
  type SnapshotView,
} from './views.js';

export interface NewJobInput {
  readonly type: string;
  readonly integrationId?: string;
  /** Defaults to `job/<jobId>`. */
  readonly resourceKey?: string;
  /** Any JSON value, serialised as the envelope's `payload` text. Defaults to `{}`. */
  readonly payload?: unknown;
  /** Sent verbatim instead of `payload` (to hand a connector invalid JSON on purpose). */
  readonly payloadRaw?: string;
  /** Duration from now; defaults to 15 min for `grant`, 24 h otherwise. */
  readonly notAfterMs?: number;
  readonly maxAttempts?: number;
  /**
   * Only this connector's sessions may claim the job. Defaults, for a payload naming a
   * `subIntegrationId`, to the connector discovery reported as serving it (docs/protocol.md).
   */
  readonly connectorId?: string;
}

/**
 * What tests, the admin API and the embedded sandbox use to drive and inspect the control plane.
 * Errors are protocol errors (ConnectorError with `details.protocolCode`), e.g. `not_found`.
 */
export interface ReferenceControlPlaneStore {
  putIntegration(integration: IntegrationRef): void;
  enqueueJob(input: NewJobInput): string;
  /** A queued job dies at once (`cancelled`); a leased one gets `cancelRequested` on its next extend. */
  cancelJob(jobId: string): JobView;
  /** Asks the job's current holder, in its next heartbeat, to release the lease. */
  requestLeaseRelease(jobId: string): JobView;
  queueAction(sessionId: string, action: HeartbeatAction): void;
  /** Changes the intervals; each session gets the new values in its next heartbeat answer. */
  setIntervals(intervals: Partial<Intervals>): Intervals;
  job(jobId: string): JobView | undefined;
  jobs(state?: JobState): JobView[];
  sessions(): SessionView[];
  results(): ResultView[];
  /** Committed snapshots, oldest first. */
  snapshots(integrationId?: string): SnapshotView[];
  requestCounts(): Partial<Record<RouteName, number>>;
  /** The grant ledger: unrevoked grants of a ledger-kind integration (grant-ledger.ts). */
  grants(integrationId: string): LedgerEntry[];
  /** Claims currently held open. */
  waitingClaims(): number;
  /** Applies lease expiry and `notAfter` now (the sweep does it every second) and wakes held claims. */
  tick(): void;
}

export function createStoreFacade(core: ControlPlaneCore): ReferenceControlPlaneStore {
  const { jobs, sessions, snapshots, waiters } = core;
  return {
    putIntegration: (integration) => {
      jobs.putIntegration(integration);
    },
    enqueueJob: (input) => enqueueJob(core, input),
    cancelJob: (jobId) => jobView(jobs.cancel(jobId)),
    requestLeaseRelease: (jobId) => {
      jobs.tick();
      const job = jobs.require(jobId);
      if (!job.lease) {
        throw protocolError(
          'invalid_request',
          `job ${jobId} is ${job.state}; only a leased job can be released`,
          409,
        );
      }
      sessions.requestRelease(job.lease.sessionId, { jobId, leaseId: job.lease.leaseId });
      return jobView(job);
    },
    queueAction: (sessionId, action) => {
      sessions.queueAction(sessionId, action);
    },
    setIntervals: (intervals) => {
      const { settings } = core;
      if (intervals.sessionGraceMs !== undefined) settings.sessionGraceFollowsTtl = false;
      const next = { ...settings.intervals, ...intervals };
      // An unconfigured grace stays 3 × the TTL: a shorter TTL must shorten a dead session's hold too.
      settings.intervals = settings.sessionGraceFollowsTtl
        ? { ...next, sessionGraceMs: defaultSessionGraceMs(next.leaseTtlMs) }
        : next;
      return { ...settings.intervals };
    },
    job: (jobId) => {
      const job = jobs.record(jobId);
      return job ? jobView(job) : undefined;
    },
    jobs: (state) => jobs.list(state).map(jobView),
    sessions: () => sessions.list().map(sessionView),
    results: () => jobs.list().flatMap(resultViews),
    snapshots: (integrationId) => snapshots.committed(integrationId).map(snapshotView),
    requestCounts: () => Object.fromEntries(core.requestCounts),
    grants: (integrationId) => core.ledger.grants(integrationId),
    waitingClaims: () => waiters.size,
    tick: () => {
      jobs.tick();
      waiters.wake();
    },
  };
}

function enqueueJob(core: ControlPlaneCore, input: NewJobInput): string {
  if (input.payload !== undefined && input.payloadRaw !== undefined) {
    throw protocolError('invalid_request', 'payloadRaw: give either payload or payloadRaw, not both');
  }
  const payload = input.payloadRaw ?? JSON.stringify(input.payload ?? {});
  const connectorId = input.connectorId ?? servingConnector(core, input);
  const job = core.jobs.enqueue({
    type: input.type,
    payload,
    integrationId: input.integrationId,
    resourceKey: input.resourceKey,
    ...(connectorId === undefined ? {} : { connectorId }),
    notAfterMs: input.notAfterMs,
    maxAttempts: input.maxAttempts,
  });
  core.logger.info(
    { jobId: job.jobId, type: job.type, resourceKey: job.resourceKey, connectorId: job.connectorId },
    'job enqueued',
  );
  return job.jobId;
}

/** A sub-integration job goes to the connector the integration's discovery says serves it. */
function servingConnector(core: ControlPlaneCore, input: NewJobInput): string | undefined {
  const payload: unknown = input.payload;
  if (input.integrationId === undefined || typeof payload !== 'object' || payload === null) return undefined;
  const subIntegrationId = (payload as Record<string, unknown>).subIntegrationId;
  if (typeof subIntegrationId !== 'string') return undefined;
  return core.snapshots.connectorFor(input.integrationId, subIntegrationId);
}
