import { z } from 'zod';

/**
 * Control-plane protocol v1: the wire schemas shared by the connector's client and the reference
 * control plane. `docs/protocol.md` is the normative prose; this file is its executable form.
 * All paths are relative to `${CONTROL_PLANE_URL}/connector/v1`.
 */
export const protocolVersion = 1;
export const basePath = '/connector/v1';

export const paths = {
  register: '/connectors/register',
  refreshToken: (sessionId: string) => `/sessions/${enc(sessionId)}/token:refresh`,
  heartbeat: (sessionId: string) => `/sessions/${enc(sessionId)}/heartbeat`,
  claim: (sessionId: string) => `/sessions/${enc(sessionId)}/jobs:claim`,
  deregister: (sessionId: string) => `/sessions/${enc(sessionId)}`,
  extend: (jobId: string) => `/jobs/${enc(jobId)}/lease:extend`,
  release: (jobId: string) => `/jobs/${enc(jobId)}/lease:release`,
  result: (jobId: string, attempt: number) => `/jobs/${enc(jobId)}/attempts/${attempt}/result`,
  /** Feature `job-intent`: what an attempt is about to change, recorded before its first write. */
  intent: (jobId: string, attempt: number) => `/jobs/${enc(jobId)}/attempts/${attempt}/intent`,
  /** Read-only, enrollment-token auth: the integrations this connector serves (doctor's checklist). */
  integrations: (connectorId: string) => `/connectors/${enc(connectorId)}/integrations`,
  snapshots: (connectorId: string) => `/connectors/${enc(connectorId)}/discovery/snapshots`,
  snapshotPart: (connectorId: string, snapshotId: string, part: number) =>
    `/connectors/${enc(connectorId)}/discovery/snapshots/${enc(snapshotId)}/parts/${part}`,
  snapshotCommit: (connectorId: string, snapshotId: string) =>
    `/connectors/${enc(connectorId)}/discovery/snapshots/${enc(snapshotId)}:commit`,
} as const;

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** Headers every request carries besides `Authorization: Bearer …`. */
export const headers = {
  session: 'x-connector-session',
  deadline: 'x-request-deadline-ms',
  idempotencyKey: 'idempotency-key',
  protocol: 'x-connector-protocol',
} as const;

export const ConnectorState = z.enum(['starting', 'idle', 'busy', 'paused', 'draining']);
export type ConnectorState = z.infer<typeof ConnectorState>;

export const Intervals = z.object({
  heartbeatMs: z.number().int().positive(),
  /** How long the server holds a claim open when nothing is ready. */
  pollWaitMs: z.number().int().nonnegative(),
  leaseTtlMs: z.number().int().positive(),
  /**
   * How long the server keeps a silent session's leases past their TTL before declaring the
   * session dead and redelivering them (docs/protocol.md §5.1). Absent or 0: leases end at TTL.
   */
  sessionGraceMs: z.number().int().nonnegative().optional(),
});
export type Intervals = z.infer<typeof Intervals>;

// 1. register (authorised with the enrollment token)
export const RegisterRequest = z.object({
  connectorId: z.string().min(1),
  instanceId: z.string().min(1),
  version: z.string(),
  protocol: z.literal(protocolVersion),
  hostname: z.string().optional(),
  podName: z.string().optional(),
  podNamespace: z.string().optional(),
  capacity: z.object({ maxJobs: z.number().int().positive() }),
  features: z.array(z.string()),
  jobTypes: z.array(z.string()),
  startedAt: z.string(),
});
export type RegisterRequest = z.infer<typeof RegisterRequest>;

export const RegisterResponse = z.object({
  sessionId: z.string().min(1),
  accessToken: z.string().min(1),
  expiresInMs: z.number().int().positive(),
  intervals: Intervals,
  limits: z.object({ maxPayloadBytes: z.number().int().positive() }),
  serverTime: z.string(),
});
export type RegisterResponse = z.infer<typeof RegisterResponse>;

// 2. token refresh
export const RefreshResponse = z.object({
  accessToken: z.string().min(1),
  expiresInMs: z.number().int().positive(),
});
export type RefreshResponse = z.infer<typeof RefreshResponse>;

// 3. heartbeat
export const LeaseRef = z.object({
  jobId: z.string(),
  leaseId: z.string(),
  fencingToken: z.number().int(),
});
export type LeaseRef = z.infer<typeof LeaseRef>;

export const HeartbeatRequest = z.object({
  sentAt: z.string(),
  state: ConnectorState,
  inFlight: z.array(LeaseRef),
  outboxDepth: z.number().int().nonnegative(),
  freeSlots: z.number().int().nonnegative(),
});
export type HeartbeatRequest = z.infer<typeof HeartbeatRequest>;

export const HeartbeatAction = z.enum(['drain', 'pause', 'resume', 'refresh_token']);
export type HeartbeatAction = z.infer<typeof HeartbeatAction>;

export const HeartbeatResponse = z.object({
  serverTime: z.string(),
  receivedAt: z.string(),
  // Unknown actions from a newer server are dropped, not fatal.
  actions: z
    .array(z.string())
    .transform((list) => list.filter((a) => HeartbeatAction.safeParse(a).success) as HeartbeatAction[]),
  releaseLeases: z.array(z.string()).default([]),
  intervals: Intervals.partial().optional(),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponse>;

// 4. claim (long-poll; `Idempotency-Key` makes a retried claim return the same jobs)
export const ClaimRequest = z.object({
  maxJobs: z.number().int().positive(),
  waitMs: z.number().int().nonnegative(),
  types: z.array(z.string()).optional(),
});
export type ClaimRequest = z.infer<typeof ClaimRequest>;

export const IntegrationRef = z.object({
  id: z.string().min(1),
  kind: z.string().min(1),
  config: z.record(z.string(), z.unknown()),
  secretRef: z.string().min(1),
});
export type IntegrationRef = z.infer<typeof IntegrationRef>;

// integrations (doctor): GET with the enrollment token; no session is created
export const IntegrationsResponse = z.object({ integrations: z.array(IntegrationRef) });
export type IntegrationsResponse = z.infer<typeof IntegrationsResponse>;

/**
 * The envelope the server vouches for. `payload` is JSON *text*: its size is checked before it
 * is parsed, and the exact bytes are what a future job signature covers.
 */
export const JobEnvelope = z.object({
  jobId: z.string().min(1),
  type: z.string().min(1),
  attempt: z.number().int().positive(),
  leaseId: z.string().min(1),
  fencingToken: z.number().int().nonnegative(),
  leaseTtlMs: z.number().int().positive(),
  /**
   * An RFC 3339 date-time. Any other text is refused, not taken as no deadline: `Date.parse` reads
   * it as NaN (no comparison with it is ever true) or, without a zone, in the replica's own.
   */
  notAfter: z.iso.datetime({ offset: true }),
  resourceKey: z.string().min(1),
  integration: IntegrationRef.nullable(),
  payload: z.string(),
  /**
   * Feature `job-intent`: the latest intent an earlier attempt of this job recorded (any JSON), or
   * null. Absent from a server without the feature; read as null.
   */
  intent: z.unknown().optional(),
});
export type JobEnvelope = z.infer<typeof JobEnvelope>;

/** Jobs are parsed one by one, so one malformed job cannot hide the others. */
export const ClaimResponse = z.object({ jobs: z.array(z.unknown()) });

// 5. extend
export const ExtendRequest = LeaseRef.omit({ jobId: true });
export const ExtendResponse = z.object({
  leaseTtlMs: z.number().int().positive(),
  cancelRequested: z.boolean().default(false),
});
export type ExtendResponse = z.infer<typeof ExtendResponse>;

// 6. release
export const ReleaseReason = z.enum(['shutdown', 'capacity', 'error', 'lease_lost']);
export const ReleaseRequest = ExtendRequest.extend({ reason: ReleaseReason });
export type ReleaseRequest = z.infer<typeof ReleaseRequest>;

// 7. result (`Idempotency-Key: <jobId>:<attempt>`)
/** Largest JSON request body a control plane accepts (docs/protocol.md §1); a larger one gets 413. */
export const maxJsonBodyBytes = 1024 * 1024;

export const JobErrorBody = z.object({
  code: z.string(),
  message: z.string().max(1024),
  retryable: z.boolean(),
  retryAfterMs: z.number().int().nonnegative().optional(),
});
export type JobErrorBody = z.infer<typeof JobErrorBody>;

export const ResultRequest = z.object({
  leaseId: z.string(),
  fencingToken: z.number().int(),
  outcome: z.enum(['succeeded', 'failed']),
  result: z.unknown().optional(),
  error: JobErrorBody.optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
});
export type ResultRequest = z.infer<typeof ResultRequest>;

/**
 * A result request serialised once: its size is checked on this text, and every attempt to deliver
 * it sends this very text under its idempotency key (§4.7).
 */
export interface SerialisedResult {
  readonly json: string;
}

/** Throws what `JSON.stringify` throws (a BigInt, a cycle in the result). */
export function serialiseResult(body: ResultRequest): SerialisedResult {
  return { json: JSON.stringify(body) };
}

export const JobState = z.enum(['queued', 'leased', 'succeeded', 'failed', 'dead']);
export type JobState = z.infer<typeof JobState>;

/**
 * `jobState` is read as any text: the connector does not act on it, and a state a newer server adds
 * must not turn a result it accepted into one the outbox retries for an hour, holding claims back.
 */
export const ResultResponse = z.object({ accepted: z.literal(true), jobState: z.string() });
export type ResultResponse = z.infer<typeof ResultResponse>;

// 7a. intent (feature `job-intent`), fenced like extend
export const IntentRequest = ExtendRequest.extend({ intent: z.unknown() });
export type IntentRequest = z.infer<typeof IntentRequest>;

export const IntentResponse = z.object({ recorded: z.literal(true) });
export type IntentResponse = z.infer<typeof IntentResponse>;

// 8. discovery snapshots
export const SnapshotCreateRequest = z.object({
  integrationId: z.string().min(1),
  jobId: z.string().min(1),
  generation: z.number().int().nonnegative(),
  contentSha256: z.string().regex(/^[a-f0-9]{64}$/),
  parts: z.number().int().positive(),
  sizeBytes: z.number().int().nonnegative(),
});
export type SnapshotCreateRequest = z.infer<typeof SnapshotCreateRequest>;

export const SnapshotCreateResponse = z.object({ snapshotId: z.string().min(1), skip: z.boolean() });
export type SnapshotCreateResponse = z.infer<typeof SnapshotCreateResponse>;

export const SnapshotCommitResponse = z.object({ snapshotId: z.string(), committed: z.literal(true) });

/** Error body of every non-2xx answer. `code` values are listed in docs/protocol.md. */
export const ProtocolErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string() }),
});
export type ProtocolErrorBody = z.infer<typeof ProtocolErrorBody>;

/** Codes the server uses in `error.code`. */
export const protocolErrorCodes = [
  'unauthorized',
  'session_unknown',
  'session_draining',
  'lease_lost',
  'job_gone',
  'stale_fence',
  'idempotency_mismatch',
  'invalid_request',
  'not_found',
  'rate_limited',
  'unavailable',
  'stale_generation',
] as const;
