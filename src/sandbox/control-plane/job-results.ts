import type { ResultRequest, ResultResponse } from '../../control-plane/protocol.js';
import type { Clock } from '../../runtime/clock.js';
import type { JobStore } from './job-store.js';
import { protocolError } from './protocol-errors.js';
import type { JobRecord, LeaseRecord } from './types.js';

export interface ResultSubmission {
  readonly jobId: string;
  readonly attempt: number;
  readonly idempotencyKey: string | undefined;
  readonly body: ResultRequest;
  /** Canonical JSON of the body as received: what an idempotent replay is compared on. */
  readonly canonical: string;
}

/**
 * Accepts a job result under its fence. Replays of an accepted result get the stored answer; a
 * result is taken from the current lease, or from the last lease when it lapsed and nobody has
 * leased the job since (the work was done; dropping the report would only cause a redelivery).
 */
export function acceptResult(
  jobs: JobStore,
  clock: Pick<Clock, 'now' | 'monotonic'>,
  submission: ResultSubmission,
): ResultResponse {
  jobs.tick();
  const { jobId, attempt, body } = submission;
  const expectedKey = `${jobId}:${attempt}`;
  if (submission.idempotencyKey !== expectedKey) {
    throw protocolError('invalid_request', `Idempotency-Key: must be "${expectedKey}"`);
  }
  const job = jobs.require(jobId);
  const stored = job.results.get(attempt);
  if (stored) {
    if (stored.canonical === submission.canonical) return stored.response;
    throw protocolError('idempotency_mismatch', `a different result was already accepted for ${expectedKey}`);
  }
  const lease = fencedLease(job, submission);
  if (body.outcome === 'failed' && !body.error) {
    throw protocolError('invalid_request', 'error: required when outcome is "failed"');
  }
  applyOutcome(jobs, clock, job, lease, body);
  const response = { accepted: true, jobState: job.state } as const satisfies ResultResponse;
  job.results.set(attempt, {
    canonical: submission.canonical,
    request: body,
    response,
    acceptedAt: new Date(clock.now()).toISOString(),
  });
  return response;
}

function fencedLease(job: JobRecord, submission: ResultSubmission): LeaseRecord {
  const { leaseId, fencingToken } = submission.body;
  const matches = (lease: LeaseRecord | undefined): lease is LeaseRecord =>
    lease !== undefined &&
    lease.leaseId === leaseId &&
    lease.fencingToken === fencingToken &&
    lease.attempt === submission.attempt;
  if (matches(job.lease)) return job.lease;
  const last = job.lastLease;
  const lapsed = job.history.find((entry) => entry.attempt === last?.attempt)?.outcome === 'expired';
  if (!job.lease && lapsed && matches(last) && (job.state === 'queued' || job.state === 'dead')) return last;
  throw protocolError(
    'stale_fence',
    `lease ${leaseId} (fencing token ${fencingToken}, attempt ${submission.attempt}) no longer owns job ${job.jobId}`,
  );
}

function applyOutcome(
  jobs: JobStore,
  clock: Pick<Clock, 'monotonic'>,
  job: JobRecord,
  lease: LeaseRecord,
  body: ResultRequest,
): void {
  jobs.setOutcome(job, lease.attempt, body.outcome);
  if (body.outcome === 'succeeded') {
    job.result = body.result;
    job.error = undefined;
    jobs.finish(job, 'succeeded');
    return;
  }
  const error = body.error;
  if (!error) return;
  if (!error.retryable) {
    jobs.finish(job, 'failed', error);
  } else if (job.state === 'dead') {
    // A late report on a job that already died (attempts or notAfter used up) only adds its error.
    job.error = error;
  } else {
    jobs.retryOrDie(job, error, clock.monotonic() + (error.retryAfterMs ?? 0));
  }
}
