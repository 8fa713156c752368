import type {
  ConnectorState,
  HeartbeatAction,
  JobErrorBody,
  JobState,
  LeaseRef,
} from '../../control-plane/protocol.js';
import type { SessionRecord } from './session-store.js';
import type { SnapshotRecord, SnapshotStatus } from './snapshot-store.js';
import type { JobRecord, JobView } from './types.js';

/** Read-only copies handed to tests and the admin API, so nobody mutates the store by accident. */
export function jobView(job: JobRecord): JobView {
  return {
    jobId: job.jobId,
    type: job.type,
    state: job.state,
    attempts: job.attempts,
    resourceKey: job.resourceKey,
    integrationId: job.integrationId,
    connectorId: job.connectorId,
    notAfter: new Date(job.notAfterMs).toISOString(),
    cancelRequested: job.cancelRequested,
    ...(job.result === undefined ? {} : { result: job.result }),
    ...(job.intent === undefined ? {} : { intent: { ...job.intent } }),
    ...(job.error === undefined ? {} : { error: job.error }),
    history: job.history.map((entry) => ({ ...entry })),
  };
}

export interface SessionView {
  readonly sessionId: string;
  readonly connectorId: string;
  readonly instanceId: string;
  readonly version: string;
  readonly state: ConnectorState;
  readonly inFlight: readonly LeaseRef[];
  readonly outboxDepth: number;
  readonly freeSlots: number;
  readonly lastHeartbeat: string | null;
  readonly registeredAt: string;
  readonly deregisteredAt: string | null;
  readonly pendingActions: readonly HeartbeatAction[];
}

export function sessionView(session: SessionRecord): SessionView {
  return {
    sessionId: session.sessionId,
    connectorId: session.registration.connectorId,
    instanceId: session.registration.instanceId,
    version: session.registration.version,
    state: session.state,
    inFlight: session.inFlight.map((lease) => ({ ...lease })),
    outboxDepth: session.outboxDepth,
    freeSlots: session.freeSlots,
    lastHeartbeat: session.lastHeartbeatAt,
    registeredAt: session.registeredAt,
    deregisteredAt: session.deregisteredAt,
    pendingActions: [...session.pendingActions],
  };
}

export interface SnapshotView {
  readonly snapshotId: string;
  readonly connectorId: string;
  readonly integrationId: string;
  readonly jobId: string;
  readonly generation: number;
  readonly contentSha256: string;
  readonly status: SnapshotStatus;
  readonly createdAt: string;
  readonly committedAt: string | null;
  /** Decoded NDJSON lines and their parsed records (committed snapshots only). */
  readonly lines: readonly string[];
  readonly records: readonly unknown[];
}

export function snapshotView(snapshot: SnapshotRecord): SnapshotView {
  const { request } = snapshot;
  return {
    snapshotId: snapshot.snapshotId,
    connectorId: snapshot.connectorId,
    integrationId: request.integrationId,
    jobId: request.jobId,
    generation: request.generation,
    contentSha256: request.contentSha256,
    status: snapshot.status,
    createdAt: snapshot.createdAt,
    committedAt: snapshot.committedAt,
    lines: [...snapshot.lines],
    records: snapshot.lines.map((line): unknown => JSON.parse(line)),
  };
}

export interface ResultView {
  readonly jobId: string;
  readonly attempt: number;
  readonly outcome: 'succeeded' | 'failed';
  readonly result?: unknown;
  readonly error?: JobErrorBody;
  /** The job's state as answered when the result was accepted. */
  readonly jobState: JobState;
  readonly acceptedAt: string;
}

export function resultViews(job: JobRecord): ResultView[] {
  return [...job.results.entries()].map(([attempt, stored]) => ({
    jobId: job.jobId,
    attempt,
    outcome: stored.request.outcome,
    ...(stored.request.result === undefined ? {} : { result: stored.request.result }),
    ...(stored.request.error === undefined ? {} : { error: stored.request.error }),
    jobState: stored.response.jobState,
    acceptedAt: stored.acceptedAt,
  }));
}
