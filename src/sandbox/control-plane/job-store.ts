import type {
  ClaimRequest,
  ExtendResponse,
  IntegrationRef,
  JobEnvelope,
  JobErrorBody,
  JobState,
} from '../../control-plane/protocol.js';
import type { Clock } from '../../runtime/clock.js';
import type { Random } from '../../runtime/random.js';
import { protocolError } from './protocol-errors.js';
import type { AttemptOutcome, JobRecord, LeaseRecord, NewJob, Settings } from './types.js';

const grantNotAfterMs = 15 * 60_000;
const defaultNotAfterMs = 24 * 60 * 60_000;

export interface Fence {
  readonly leaseId: string;
  readonly fencingToken: number;
}

export interface JobStoreDeps {
  readonly clock: Pick<Clock, 'now' | 'monotonic'>;
  readonly random: Pick<Random, 'uuid'>;
  readonly settings: Settings;
  /** Called whenever a job may have become claimable, so waiting claims can be woken. */
  readonly onChange?: () => void;
  /** The grant ledger (grant-ledger.ts): told of each success, and may extend a payload at lease time. */
  readonly ledger?: {
    succeeded(job: JobRecord, integration: IntegrationRef | undefined): void;
    /** A job ended `failed` or `dead`: a recorded intent may become a record (§4.7a). */
    ended(job: JobRecord, integration: IntegrationRef | undefined): void;
    payloadFor(job: JobRecord, integration: IntegrationRef | undefined): string;
  };
  /** Whether a lease past its TTL is still held by a live session (§5.1). Absent: never. */
  readonly holdsPastTtl?: (lease: LeaseRecord) => boolean;
}

/**
 * Jobs, leases and fencing, in memory and without HTTP. Every operation first applies what time
 * has made true (expired leases, passed `notAfter`), so answers never depend on a sweep having run.
 */
export class JobStore {
  private readonly jobs = new Map<string, JobRecord>();
  /** Queued and leased jobs in enqueue order: FIFO per resource key is read from it. */
  private readonly active = new Map<string, JobRecord>();
  private readonly integrations = new Map<string, IntegrationRef>();
  private seq = 0;
  private fencingCounter = 0;

  constructor(private readonly deps: JobStoreDeps) {}

  putIntegration(integration: IntegrationRef): void {
    this.integrations.set(integration.id, integration);
  }

  allIntegrations(): IntegrationRef[] {
    return [...this.integrations.values()];
  }

  integration(id: string): IntegrationRef | undefined {
    return this.integrations.get(id);
  }

  enqueue(input: NewJob): JobRecord {
    if (input.integrationId !== undefined && !this.integrations.has(input.integrationId)) {
      throw protocolError('not_found', `integration ${input.integrationId} is not registered`);
    }
    const notAfterIn = input.notAfterMs ?? (input.type === 'grant' ? grantNotAfterMs : defaultNotAfterMs);
    const notAfterMs = this.deps.clock.now() + notAfterIn;
    // Every envelope and view writes it as a date: one past the last a Date holds could not be leased.
    if (Number.isNaN(new Date(notAfterMs).getTime())) {
      throw protocolError('invalid_request', 'notAfterMs: ends past the latest date a job can carry');
    }
    const jobId = this.deps.random.uuid();
    const job: JobRecord = {
      jobId,
      type: input.type,
      integrationId: input.integrationId ?? null,
      resourceKey: input.resourceKey ?? `job/${jobId}`,
      connectorId: input.connectorId ?? null,
      payload: input.payload,
      notAfterMs,
      maxAttempts: input.maxAttempts ?? this.deps.settings.maxAttempts,
      seq: this.seq++,
      createdAt: this.isoNow(),
      state: 'queued',
      attempts: 0,
      releasedAttempts: 0,
      notBefore: 0,
      lease: undefined,
      lastLease: undefined,
      cancelRequested: false,
      history: [],
      results: new Map(),
    };
    this.jobs.set(jobId, job);
    this.active.set(jobId, job);
    this.changed();
    return job;
  }

  /**
   * Leases up to `maxJobs` ready jobs: the oldest unfinished job of each key, if it is queued and
   * not addressed to another connector than `connectorId`.
   */
  claim(
    sessionId: string,
    request: Pick<ClaimRequest, 'maxJobs' | 'types'>,
    connectorId?: string,
  ): JobEnvelope[] {
    this.tick();
    const leased: JobEnvelope[] = [];
    for (const job of this.claimable(request.types, connectorId)) {
      if (leased.length >= request.maxJobs) break;
      leased.push(this.lease(job, sessionId));
    }
    return leased;
  }

  /** The envelope of a lease still held by `sessionId`, renewed from now (a retried claim's answer). */
  reclaim(sessionId: string, jobId: string, leaseId: string): JobEnvelope | undefined {
    this.tick();
    const job = this.jobs.get(jobId);
    const lease = job?.lease;
    if (!job || !lease || lease.leaseId !== leaseId || lease.sessionId !== sessionId) return undefined;
    // The client computes its deadline from the retry's send time, so the server's must not be earlier.
    lease.expiresAt = this.deps.clock.monotonic() + this.deps.settings.intervals.leaseTtlMs;
    return this.envelope(job, lease);
  }

  extend(jobId: string, fence: Fence): ExtendResponse {
    const { job, lease } = this.currentLease(jobId, fence);
    const leaseTtlMs = this.deps.settings.intervals.leaseTtlMs;
    lease.expiresAt = this.deps.clock.monotonic() + leaseTtlMs;
    return { leaseTtlMs, cancelRequested: job.cancelRequested };
  }

  /**
   * Feature `job-intent`: keeps what the current attempt is about to change. Fenced like extend,
   * and the attempt must be the lease's: a stale attempt can never overwrite a newer intent.
   */
  recordIntent(jobId: string, attempt: number, fence: Fence, intent: unknown): void {
    const { job, lease } = this.currentLease(jobId, fence);
    if (lease.attempt !== attempt) {
      throw protocolError('lease_lost', `lease ${fence.leaseId} is attempt ${lease.attempt}, not ${attempt}`);
    }
    if (job.intent && job.intent.attempt < attempt) job.earlierIntent = job.intent;
    job.intent = { attempt, value: intent, recordedAt: this.isoNow() };
  }

  /** Gives a lease back: the job is queued again at once and the attempt is not charged. */
  release(jobId: string, fence: Fence): void {
    const { job, lease } = this.currentLease(jobId, fence);
    this.endLease(job, lease, 'released');
  }

  /** Releases every lease a session holds (it deregistered). Returns how many. */
  releaseSession(sessionId: string): number {
    this.tick();
    let count = 0;
    for (const job of [...this.active.values()]) {
      if (job.lease?.sessionId !== sessionId) continue;
      // A lease held only by the grace (§5.1) expires, charged, when its session deregisters.
      const pastTtl = job.lease.expiresAt <= this.deps.clock.monotonic();
      this.endLease(job, job.lease, pastTtl ? 'expired' : 'released');
      count += 1;
    }
    return count;
  }

  /** Takes back leases whose claim response could not be written: nobody holds them. */
  undeliver(envelopes: readonly JobEnvelope[]): void {
    for (const envelope of envelopes) {
      const job = this.jobs.get(envelope.jobId);
      if (job?.lease?.leaseId === envelope.leaseId) this.endLease(job, job.lease, 'undelivered');
    }
  }

  /** A queued job dies at once; a leased one is flagged and its holder learns it on the next extend. */
  cancel(jobId: string): JobRecord {
    this.tick();
    const job = this.require(jobId);
    if (job.state === 'queued') {
      this.finish(job, 'dead', { code: 'cancelled', message: 'cancelled by an operator', retryable: false });
    } else if (job.state === 'leased') {
      job.cancelRequested = true;
    }
    return job;
  }

  /** Applies lease expiry and `notAfter`. Called by every operation and by the periodic sweep. */
  tick(): void {
    const mono = this.deps.clock.monotonic();
    const wall = this.deps.clock.now();
    for (const job of [...this.active.values()]) {
      if (job.lease && job.lease.expiresAt <= mono && !this.deps.holdsPastTtl?.(job.lease))
        this.endLease(job, job.lease, 'expired');
      if (job.state === 'queued' && wall >= job.notAfterMs) {
        const message = `notAfter ${new Date(job.notAfterMs).toISOString()} passed before the job finished`;
        this.finish(job, 'dead', { code: 'not_after_passed', message, retryable: false });
      }
    }
  }

  record(jobId: string): JobRecord | undefined {
    return this.jobs.get(jobId);
  }

  require(jobId: string): JobRecord {
    const job = this.jobs.get(jobId);
    if (!job) throw protocolError('not_found', `job ${jobId} does not exist`);
    return job;
  }

  list(state?: JobState): JobRecord[] {
    return [...this.jobs.values()].filter((job) => state === undefined || job.state === state);
  }

  /** Ends a job for good; its resource key is free for the next job. */
  finish(job: JobRecord, state: 'succeeded' | 'failed' | 'dead', error?: JobErrorBody): void {
    job.state = state;
    job.lease = undefined;
    if (error) job.error = error;
    this.active.delete(job.jobId);
    if (state === 'succeeded') this.deps.ledger?.succeeded(job, this.integrationOf(job));
    else this.deps.ledger?.ended(job, this.integrationOf(job));
    this.changed();
  }

  private integrationOf(job: JobRecord): IntegrationRef | undefined {
    return job.integrationId === null ? undefined : this.integrations.get(job.integrationId);
  }

  /** Queues a job for another attempt, or dead-letters it when its charged attempts are used up. */
  retryOrDie(job: JobRecord, error: JobErrorBody, notBefore = 0): void {
    job.lease = undefined;
    job.error = error;
    if (job.cancelRequested) {
      this.finish(job, 'dead', { code: 'cancelled', message: 'cancelled by an operator', retryable: false });
    } else if (job.attempts - job.releasedAttempts >= job.maxAttempts) {
      const message = `gave up after ${job.maxAttempts} attempts; last error ${error.code}: ${error.message}`;
      // A rate limit that outlasted every attempt is the real cause: name it, not the attempt count.
      this.finish(job, 'dead', {
        code: error.code === 'rate_limited' ? 'rate_limited' : 'max_attempts_exceeded',
        message: message.slice(0, 1024),
        retryable: false,
      });
    } else {
      job.state = 'queued';
      job.notBefore = Math.max(job.notBefore, notBefore);
      this.changed();
    }
  }

  setOutcome(job: JobRecord, attempt: number, outcome: AttemptOutcome): void {
    const entry = job.history.find((h) => h.attempt === attempt);
    if (entry) entry.outcome = outcome;
  }

  private *claimable(types?: readonly string[], connectorId?: string): Generator<JobRecord> {
    const mono = this.deps.clock.monotonic();
    const seenKeys = new Set<string>();
    for (const job of this.active.values()) {
      if (seenKeys.has(job.resourceKey)) continue;
      seenKeys.add(job.resourceKey);
      if (job.state !== 'queued' || job.notBefore > mono) continue;
      if (types && !types.includes(job.type)) continue;
      // Keyed order still holds: a job addressed elsewhere blocks later jobs of its key here too.
      if (job.connectorId !== null && job.connectorId !== connectorId) continue;
      yield job;
    }
  }

  private lease(job: JobRecord, sessionId: string): JobEnvelope {
    job.attempts += 1;
    this.fencingCounter += 1;
    const lease: LeaseRecord = {
      leaseId: this.deps.random.uuid(),
      fencingToken: this.fencingCounter,
      sessionId,
      attempt: job.attempts,
      expiresAt: this.deps.clock.monotonic() + this.deps.settings.intervals.leaseTtlMs,
    };
    job.state = 'leased';
    job.lease = lease;
    job.lastLease = lease;
    job.history.push({ attempt: lease.attempt, sessionId, leasedAt: this.isoNow() });
    return this.envelope(job, lease);
  }

  private envelope(job: JobRecord, lease: LeaseRecord): JobEnvelope {
    return {
      jobId: job.jobId,
      type: job.type,
      attempt: lease.attempt,
      leaseId: lease.leaseId,
      fencingToken: lease.fencingToken,
      leaseTtlMs: this.deps.settings.intervals.leaseTtlMs,
      notAfter: new Date(job.notAfterMs).toISOString(),
      resourceKey: job.resourceKey,
      // Resolved now, not at enqueue: the job runs with the integration as it is configured today.
      integration: this.integrationOf(job) ?? null,
      // Ledger kinds get the unrevoked grants as they stand at this lease (docs/protocol.md).
      payload: this.deps.ledger?.payloadFor(job, this.integrationOf(job)) ?? job.payload,
      // Only an earlier attempt's intent: a retried claim of this lease must not see its own.
      intent: this.intentBefore(job, lease.attempt),
    };
  }

  /** The latest intent recorded by an attempt before `attempt`, or null. */
  private intentBefore(job: JobRecord, attempt: number): unknown {
    const found = [job.intent, job.earlierIntent].find((i) => i !== undefined && i.attempt < attempt);
    return found ? found.value : null;
  }

  private currentLease(jobId: string, fence: Fence): { job: JobRecord; lease: LeaseRecord } {
    this.tick();
    const job = this.require(jobId);
    if (job.state === 'succeeded' || job.state === 'failed' || job.state === 'dead') {
      throw protocolError('job_gone', `job ${jobId} is ${job.state}`);
    }
    const lease = job.lease;
    if (!lease || lease.leaseId !== fence.leaseId || lease.fencingToken !== fence.fencingToken) {
      throw protocolError('lease_lost', `lease ${fence.leaseId} is not the current lease of job ${jobId}`);
    }
    return { job, lease };
  }

  private endLease(
    job: JobRecord,
    lease: LeaseRecord,
    outcome: 'expired' | 'released' | 'undelivered',
  ): void {
    this.setOutcome(job, lease.attempt, outcome);
    if (outcome === 'expired') {
      const message = `lease of attempt ${lease.attempt} expired without a result`;
      this.retryOrDie(job, { code: 'lease_expired', message, retryable: true });
      return;
    }
    job.releasedAttempts += 1;
    job.lease = undefined;
    if (job.cancelRequested) {
      this.finish(job, 'dead', { code: 'cancelled', message: 'cancelled by an operator', retryable: false });
      return;
    }
    job.state = 'queued';
    this.changed();
  }

  private changed(): void {
    this.deps.onChange?.();
  }

  private isoNow(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }
}
