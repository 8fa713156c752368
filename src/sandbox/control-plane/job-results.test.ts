import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../../test/fakes/fake-random.js';
import type { JobEnvelope, ResultRequest } from '../../control-plane/protocol.js';
import { isConnectorError } from '../../errors/connector-error.js';
import { canonicalJson } from './canonical-json.js';
import { acceptResult } from './job-results.js';
import { JobStore } from './job-store.js';

const ttl = 60_000;

function setup(maxAttempts = 5) {
  const clock = new FakeClock();
  const jobs = new JobStore({
    clock,
    random: new FakeRandom(),
    settings: {
      intervals: { heartbeatMs: 15_000, pollWaitMs: 25_000, leaseTtlMs: ttl },
      maxAttempts,
      maxPayloadBytes: 262_144,
      accessTokenTtlMs: 1_800_000,
    },
  });
  const jobId = jobs.enqueue({ type: 'grant', payload: '{}' }).jobId;
  const claim = (): JobEnvelope => {
    const [envelope] = jobs.claim('s1', { maxJobs: 1 });
    if (!envelope) throw new Error('nothing to claim');
    return envelope;
  };
  const submit = (lease: JobEnvelope, tweak: Partial<ResultRequest> = {}, key?: string) => {
    const body: ResultRequest = {
      leaseId: lease.leaseId,
      fencingToken: lease.fencingToken,
      outcome: 'succeeded',
      result: { username: 'jit-alice' },
      startedAt: '2026-11-24T12:00:00.000Z',
      finishedAt: '2026-11-24T12:00:01.000Z',
      ...tweak,
    };
    return acceptResult(jobs, clock, {
      jobId,
      attempt: lease.attempt,
      idempotencyKey: key ?? `${jobId}:${lease.attempt}`,
      body,
      canonical: canonicalJson(body),
    });
  };
  return { clock, jobs, jobId, claim, submit };
}

const retryable = { code: 'upstream_unavailable', message: 'Atlas 503', retryable: true };

function protocolCode(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    if (isConnectorError(error)) return error.details.protocolCode;
    throw error;
  }
  return 'no error';
}

describe('acceptResult', () => {
  it('marks the job succeeded and stores its result', () => {
    const { jobs, jobId, claim, submit } = setup();
    expect(submit(claim())).toEqual({ accepted: true, jobState: 'succeeded' });
    expect(jobs.record(jobId)).toMatchObject({ state: 'succeeded', result: { username: 'jit-alice' } });
  });

  it('answers an identical replay with the stored answer, whatever its key order', () => {
    const { jobs, jobId, claim, submit } = setup();
    const lease = claim();
    submit(lease, { outcome: 'failed', error: retryable });
    const reordered = { error: { retryable: true, message: 'Atlas 503', code: 'upstream_unavailable' } };
    expect(submit(lease, { outcome: 'failed', ...reordered })).toEqual({
      accepted: true,
      jobState: 'queued',
    });
    expect(jobs.record(jobId)?.results.size).toBe(1);
  });

  it('refuses the same idempotency key with a different body', () => {
    const { claim, submit } = setup();
    const lease = claim();
    submit(lease);
    expect(protocolCode(() => submit(lease, { result: { username: 'jit-bob' } }))).toBe(
      'idempotency_mismatch',
    );
  });

  it('refuses a result from a lease that expired and was re-leased to someone else', async () => {
    const { clock, jobs, jobId, claim, submit } = setup();
    const stale = claim();
    await clock.advance(ttl);
    claim();
    expect(protocolCode(() => submit(stale))).toBe('stale_fence');
    expect(jobs.record(jobId)?.state).toBe('leased');
  });

  it('accepts a result from a lease that lapsed while nobody else took the job', async () => {
    const { clock, jobs, jobId, claim, submit } = setup();
    const lapsed = claim();
    await clock.advance(ttl);
    jobs.tick();
    expect(submit(lapsed)).toEqual({ accepted: true, jobState: 'succeeded' });
    expect(jobs.record(jobId)?.history[0]?.outcome).toBe('succeeded');
  });

  it('replays an accepted result with its first answer after the job was leased again', () => {
    // The outbox retries a result whose answer it lost; its retryable failure has requeued the job,
    // and the next attempt holds it now: the replay is not refused as stale.
    const { jobs, jobId, claim, submit } = setup();
    const first = claim();
    submit(first, { outcome: 'failed', error: retryable });
    const second = claim();
    expect(submit(first, { outcome: 'failed', error: retryable })).toEqual({
      accepted: true,
      jobState: 'queued',
    });
    expect(jobs.record(jobId)?.lease?.leaseId).toBe(second.leaseId);
  });

  it("accepts a lapsed lease's result after that expiry dead-lettered the job", async () => {
    const { clock, jobs, jobId, claim, submit } = setup(1);
    const lapsed = claim();
    await clock.advance(ttl);
    jobs.tick();
    expect(jobs.record(jobId)?.state).toBe('dead');
    expect(submit(lapsed)).toEqual({ accepted: true, jobState: 'succeeded' });
  });

  it("only records the error of a lapsed lease's retryable failure on a job already dead", async () => {
    const { clock, jobs, jobId, claim, submit } = setup(1);
    const lapsed = claim();
    await clock.advance(ttl);
    expect(submit(lapsed, { outcome: 'failed', error: retryable })).toEqual({
      accepted: true,
      jobState: 'dead',
    });
    expect(jobs.record(jobId)?.error).toEqual(retryable);
  });

  it('answers not_found to a result for a job it does not know', () => {
    const { jobs, clock, claim } = setup();
    const lease = claim();
    const body: ResultRequest = {
      leaseId: lease.leaseId,
      fencingToken: lease.fencingToken,
      outcome: 'succeeded',
      startedAt: '2026-11-24T12:00:00.000Z',
      finishedAt: '2026-11-24T12:00:01.000Z',
    };
    const unknown = { jobId: 'no-such-job', attempt: 1, idempotencyKey: 'no-such-job:1', body };
    expect(
      protocolCode(() => acceptResult(jobs, clock, { ...unknown, canonical: canonicalJson(body) })),
    ).toBe('not_found');
  });

  it('refuses a result from a lease the connector released', () => {
    const { jobs, jobId, claim, submit } = setup();
    const lease = claim();
    jobs.release(jobId, lease);
    expect(protocolCode(() => submit(lease))).toBe('stale_fence');
  });

  it('refuses a result whose path attempt is not the lease attempt', () => {
    const { jobId, claim, submit } = setup();
    const lease = claim();
    expect(protocolCode(() => submit({ ...lease, attempt: 2 }, {}, `${jobId}:2`))).toBe('stale_fence');
  });

  it('re-queues a retryable failure for another attempt no earlier than retryAfterMs', async () => {
    const { clock, jobs, claim, submit } = setup();
    const lease = claim();
    expect(submit(lease, { outcome: 'failed', error: { ...retryable, retryAfterMs: 5_000 } }).jobState).toBe(
      'queued',
    );
    expect(jobs.claim('s1', { maxJobs: 1 })).toEqual([]);
    await clock.advance(5_000);
    expect(claim().attempt).toBe(2);
  });

  it('dead-letters a retryable failure on the last allowed attempt', () => {
    const { jobs, jobId, claim, submit } = setup(1);
    expect(submit(claim(), { outcome: 'failed', error: retryable }).jobState).toBe('dead');
    expect(jobs.record(jobId)?.error?.code).toBe('max_attempts_exceeded');
  });

  it('dead-letters a job whose last attempt was rate limited as rate_limited, keeping the Atlas detail', () => {
    const { jobs, jobId, claim, submit } = setup(1);
    const throttled = {
      code: 'rate_limited',
      message: 'createGroupDatabaseUser: RATE_LIMITED: Resource usersPerGroup exceeded',
      retryable: true,
    };
    expect(submit(claim(), { outcome: 'failed', error: throttled }).jobState).toBe('dead');
    expect(jobs.record(jobId)?.error).toMatchObject({
      code: 'rate_limited',
      message: expect.stringContaining('RATE_LIMITED: Resource usersPerGroup exceeded'),
      retryable: false,
    });
  });

  it('fails the job for good on a non-retryable failure', () => {
    const { jobs, jobId, claim, submit } = setup();
    const error = { code: 'policy_denied', message: 'role not allowed', retryable: false };
    expect(submit(claim(), { outcome: 'failed', error }).jobState).toBe('failed');
    expect(jobs.record(jobId)).toMatchObject({ state: 'failed', error });
  });

  it('requires the Idempotency-Key to be jobId:attempt', () => {
    const { claim, submit } = setup();
    expect(protocolCode(() => submit(claim(), {}, 'some-other-key'))).toBe('invalid_request');
  });

  it('requires an error body on a failed outcome', () => {
    const { claim, submit } = setup();
    expect(protocolCode(() => submit(claim(), { outcome: 'failed' }))).toBe('invalid_request');
  });
});
