import type {
  Intervals,
  JobErrorBody,
  JobState,
  ResultRequest,
  ResultResponse,
} from '../../control-plane/protocol.js';

/** Server settings; `intervals` may change at run time (admin), the rest is fixed at start. */
export interface Settings {
  intervals: Intervals;
  readonly maxAttempts: number;
  readonly maxPayloadBytes: number;
  readonly accessTokenTtlMs: number;
  /**
   * The grace was not configured: it is 3 × `leaseTtlMs` (docs/protocol.md §5.1) and follows a TTL
   * changed at run time, until an operator sets it.
   */
  sessionGraceFollowsTtl?: boolean;
}

/** The reference control plane's default `sessionGraceMs`, like Buildkite's lost-agent timeout. */
export function defaultSessionGraceMs(leaseTtlMs: number): number {
  return 3 * leaseTtlMs;
}

export interface LeaseRecord {
  readonly leaseId: string;
  readonly fencingToken: number;
  readonly sessionId: string;
  readonly attempt: number;
  /** Monotonic ms. */
  expiresAt: number;
}

export type AttemptOutcome = 'succeeded' | 'failed' | 'expired' | 'released' | 'undelivered';

export interface AttemptRecord {
  readonly attempt: number;
  readonly sessionId: string;
  readonly leasedAt: string;
  outcome?: AttemptOutcome;
}

export interface StoredResult {
  readonly canonical: string;
  readonly request: ResultRequest;
  /** This server's own answer: always one of its states (a connector takes any). */
  readonly response: ResultResponse & { readonly jobState: JobState };
  readonly acceptedAt: string;
}

export interface JobRecord {
  readonly jobId: string;
  readonly type: string;
  readonly integrationId: string | null;
  readonly resourceKey: string;
  /** Only sessions of this connector may claim it (a sub-integration's serving connector). */
  readonly connectorId: string | null;
  /** JSON text, handed out verbatim. */
  readonly payload: string;
  /** Wall-clock epoch ms: `notAfter` leaves the server as a timestamp. */
  readonly notAfterMs: number;
  readonly maxAttempts: number;
  /** Enqueue order; FIFO per resource key follows it. */
  readonly seq: number;
  readonly createdAt: string;
  state: JobState;
  /** Leases granted so far; the envelope's `attempt` is this number. */
  attempts: number;
  /** Leases given back by release (or never delivered); they do not count towards `maxAttempts`. */
  releasedAttempts: number;
  /** Monotonic ms before which the job is not leased (a failure's `retryAfterMs`). */
  notBefore: number;
  lease: LeaseRecord | undefined;
  /** The most recent lease, kept after it expires or is released, for late results. */
  lastLease: LeaseRecord | undefined;
  cancelRequested: boolean;
  result?: unknown;
  error?: JobErrorBody;
  /** Feature `job-intent`: the latest intent an attempt recorded (§4.7a). */
  intent?: RecordedIntent;
  /** The intent it replaced when that one came from an earlier attempt (what a retried claim hands out). */
  earlierIntent?: RecordedIntent;
  readonly history: AttemptRecord[];
  readonly results: Map<number, StoredResult>;
}

export interface RecordedIntent {
  readonly attempt: number;
  readonly value: unknown;
  readonly recordedAt: string;
}

export interface NewJob {
  readonly type: string;
  readonly integrationId?: string;
  readonly resourceKey?: string;
  /** Only sessions of this connector may claim the job. */
  readonly connectorId?: string;
  /** JSON text. */
  readonly payload: string;
  /** Duration from now; defaults to 15 min for `grant`, 24 h otherwise. */
  readonly notAfterMs?: number;
  readonly maxAttempts?: number;
}

/** What tests and the admin API see of a job. */
export interface JobView {
  readonly jobId: string;
  readonly type: string;
  readonly state: JobState;
  readonly attempts: number;
  readonly resourceKey: string;
  readonly integrationId: string | null;
  readonly connectorId: string | null;
  readonly notAfter: string;
  readonly cancelRequested: boolean;
  readonly result?: unknown;
  readonly error?: JobErrorBody;
  /** The latest intent an attempt recorded (feature `job-intent`). */
  readonly intent?: RecordedIntent;
  readonly history: readonly AttemptRecord[];
}
