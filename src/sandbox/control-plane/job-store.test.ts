import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../test/fakes/fake-clock.js';
import { FakeRandom } from '../../../test/fakes/fake-random.js';
import { isConnectorError } from '../../errors/connector-error.js';
import { acceptResult } from './job-results.js';
import { JobStore } from './job-store.js';
import type { NewJob, Settings } from './types.js';

const ttl = 60_000;

function setup(settingsOverrides: Partial<Settings> = {}) {
  const clock = new FakeClock();
  const settings: Settings = {
    intervals: { heartbeatMs: 15_000, pollWaitMs: 25_000, leaseTtlMs: ttl },
    maxAttempts: 5,
    maxPayloadBytes: 262_144,
    accessTokenTtlMs: 1_800_000,
    ...settingsOverrides,
  };
  let changes = 0;
  const jobs = new JobStore({ clock, random: new FakeRandom(), settings, onChange: () => (changes += 1) });
  const enqueue = (overrides: Partial<NewJob> = {}) =>
    jobs.enqueue({ type: 'grant', payload: '{}', ...overrides }).jobId;
  const succeed = (jobId: string) => {
    const lease = jobs.record(jobId)?.lease;
    if (!lease) throw new Error(`job ${jobId} is not leased`);
    acceptResult(jobs, clock, {
      jobId,
      attempt: lease.attempt,
      idempotencyKey: `${jobId}:${lease.attempt}`,
      body: { ...lease, outcome: 'succeeded', startedAt: 'a', finishedAt: 'b' },
      canonical: `${lease.leaseId}`,
    });
  };
  return { clock, jobs, settings, enqueue, succeed, changes: () => changes };
}

function protocolFailure(action: () => unknown): { code: unknown; status: unknown } {
  try {
    action();
  } catch (error) {
    if (isConnectorError(error))
      return { code: error.details.protocolCode, status: error.details.httpStatus };
    throw error;
  }
  throw new Error('expected a protocol error');
}

describe('JobStore leasing', () => {
  it('leases only the oldest unfinished job of a resource key and the next one once it finishes', () => {
    const { jobs, enqueue, succeed } = setup();
    const first = enqueue({ resourceKey: 'p/alice' });
    const second = enqueue({ resourceKey: 'p/alice' });
    const other = enqueue({ resourceKey: 'p/bob' });

    expect(jobs.claim('s1', { maxJobs: 10 }).map((j) => j.jobId)).toEqual([first, other]);
    expect(jobs.claim('s2', { maxJobs: 10 })).toEqual([]);

    succeed(first);
    expect(jobs.claim('s2', { maxJobs: 10 }).map((j) => j.jobId)).toEqual([second]);
  });

  it('hands out at most maxJobs jobs per claim, oldest first', () => {
    const { jobs, enqueue } = setup();
    const ids = [enqueue(), enqueue(), enqueue()];
    expect(jobs.claim('s1', { maxJobs: 2 }).map((j) => j.jobId)).toEqual(ids.slice(0, 2));
  });

  it('gives every lease a new lease id, a higher fencing token and the next attempt number', () => {
    const { jobs, enqueue } = setup();
    const a = enqueue();
    const b = enqueue();
    const [leaseA1, leaseB1] = jobs.claim('s1', { maxJobs: 2 });
    jobs.release(a, leaseA1!);
    const [leaseA2] = jobs.claim('s1', { maxJobs: 2 });

    expect([leaseA1!.fencingToken, leaseB1!.fencingToken, leaseA2!.fencingToken]).toEqual([1, 2, 3]);
    expect(leaseA2).toMatchObject({ jobId: a, attempt: 2 });
    expect(leaseA2!.leaseId).not.toBe(leaseA1!.leaseId);
    expect(leaseB1).toMatchObject({ jobId: b, attempt: 1 });
  });

  it('only leases jobs of the requested types, and a blocked key stays blocked for every type', () => {
    const { jobs, enqueue } = setup();
    enqueue({ type: 'grant', resourceKey: 'k' });
    enqueue({ type: 'revoke', resourceKey: 'k' });
    const discover = enqueue({ type: 'discover' });
    expect(jobs.claim('s1', { maxJobs: 5, types: ['revoke', 'discover'] }).map((j) => j.jobId)).toEqual([
      discover,
    ]);
  });

  it('resolves the integration when the job is leased, not when it is enqueued', () => {
    const { jobs, enqueue } = setup();
    jobs.putIntegration({ id: 'i1', kind: 'atlas-project', config: { v: 1 }, secretRef: 'env://A' });
    const withIntegration = enqueue({ integrationId: 'i1' });
    enqueue();
    jobs.putIntegration({ id: 'i1', kind: 'atlas-project', config: { v: 2 }, secretRef: 'env://B' });

    const [first, second] = jobs.claim('s1', { maxJobs: 2 });
    expect(first).toMatchObject({ jobId: withIntegration, integration: { id: 'i1', config: { v: 2 } } });
    expect(second?.integration).toBeNull();
  });

  it('refuses a job for an integration that is not registered', () => {
    const { enqueue } = setup();
    expect(protocolFailure(() => enqueue({ integrationId: 'nope' }))).toEqual({
      code: 'not_found',
      status: 404,
    });
  });

  it('hands the payload out as the exact text it was given', () => {
    const { jobs, enqueue } = setup();
    enqueue({ payload: '{"b":1, "a":[2]}' });
    expect(jobs.claim('s1', { maxJobs: 1 })[0]?.payload).toBe('{"b":1, "a":[2]}');
  });
});

describe('JobStore lease lifetime', () => {
  it('redelivers a job whose lease expired, as the next attempt', async () => {
    const { clock, jobs, enqueue } = setup();
    const id = enqueue();
    const [first] = jobs.claim('s1', { maxJobs: 1 });
    await clock.advance(ttl);

    const [second] = jobs.claim('s2', { maxJobs: 1 });
    expect(second).toMatchObject({ jobId: id, attempt: 2 });
    expect(jobs.record(id)?.history.map((h) => h.outcome)).toEqual(['expired', undefined]);
    expect(protocolFailure(() => jobs.extend(id, first!))).toEqual({ code: 'lease_lost', status: 409 });
  });

  it('keeps a lease alive for a full TTL from each extension', async () => {
    const { clock, jobs, enqueue } = setup();
    const id = enqueue();
    const [lease] = jobs.claim('s1', { maxJobs: 1 });
    await clock.advance(ttl - 1);
    expect(jobs.extend(id, lease!)).toEqual({ leaseTtlMs: ttl, cancelRequested: false });
    await clock.advance(ttl - 1);

    expect(jobs.claim('s2', { maxJobs: 1 })).toEqual([]);
    expect(jobs.record(id)?.state).toBe('leased');
  });

  it('dead-letters a job once its lease has expired maxAttempts times', async () => {
    const { clock, jobs, enqueue } = setup({ maxAttempts: 2 });
    const id = enqueue();
    jobs.claim('s1', { maxJobs: 1 });
    await clock.advance(ttl);
    jobs.claim('s1', { maxJobs: 1 });
    await clock.advance(ttl);

    expect(jobs.claim('s1', { maxJobs: 1 })).toEqual([]);
    expect(jobs.record(id)).toMatchObject({
      state: 'dead',
      attempts: 2,
      error: { code: 'max_attempts_exceeded' },
    });
  });

  it('does not charge released attempts against maxAttempts', async () => {
    const { clock, jobs, enqueue } = setup({ maxAttempts: 2 });
    const id = enqueue();
    const [first] = jobs.claim('s1', { maxJobs: 1 });
    jobs.release(id, first!);
    jobs.claim('s1', { maxJobs: 1 });
    await clock.advance(ttl);
    jobs.tick();

    expect(jobs.record(id)).toMatchObject({ state: 'queued', attempts: 2 });
  });

  it('re-queues a released job at once and refuses a second release of the same lease', () => {
    const { jobs, enqueue, changes } = setup();
    const id = enqueue();
    const [lease] = jobs.claim('s1', { maxJobs: 1 });
    const before = changes();
    jobs.release(id, lease!);

    expect(changes()).toBeGreaterThan(before);
    expect(jobs.claim('s2', { maxJobs: 1 })[0]?.jobId).toBe(id);
    expect(protocolFailure(() => jobs.release(id, lease!))).toEqual({ code: 'lease_lost', status: 409 });
  });

  it('answers job_gone to extending or releasing a lease of a finished job', () => {
    const { jobs, enqueue, succeed } = setup();
    const id = enqueue();
    const [lease] = jobs.claim('s1', { maxJobs: 1 });
    succeed(id);
    expect(protocolFailure(() => jobs.extend(id, lease!))).toEqual({ code: 'job_gone', status: 410 });
    expect(protocolFailure(() => jobs.release(id, lease!))).toEqual({ code: 'job_gone', status: 410 });
  });

  it('refuses a fencing token that does not match the lease id', () => {
    const { jobs, enqueue } = setup();
    const id = enqueue();
    const [lease] = jobs.claim('s1', { maxJobs: 1 });
    const forged = { leaseId: lease!.leaseId, fencingToken: lease!.fencingToken + 1 };
    expect(protocolFailure(() => jobs.extend(id, forged))).toEqual({ code: 'lease_lost', status: 409 });
  });

  it('releases every lease of a session that goes away', () => {
    const { jobs, enqueue } = setup();
    enqueue();
    enqueue();
    jobs.claim('gone', { maxJobs: 1 });
    jobs.claim('stays', { maxJobs: 1 });
    expect(jobs.releaseSession('gone')).toBe(1);
    expect(jobs.list('queued')).toHaveLength(1);
    expect(jobs.list('leased')).toHaveLength(1);
  });

  it('takes back undelivered leases without charging the attempt', () => {
    const { jobs, enqueue } = setup({ maxAttempts: 1 });
    const id = enqueue();
    const envelopes = jobs.claim('s1', { maxJobs: 1 });
    jobs.undeliver(envelopes);
    expect(jobs.record(id)).toMatchObject({ state: 'queued', releasedAttempts: 1 });
    expect(jobs.record(id)?.history[0]?.outcome).toBe('undelivered');
    expect(jobs.claim('s1', { maxJobs: 1 })[0]?.attempt).toBe(2);
  });
});

describe('JobStore notAfter and cancellation', () => {
  it('dead-letters a job whose notAfter passed before it was leased', async () => {
    const { clock, jobs, enqueue } = setup();
    const id = enqueue({ notAfterMs: 1_000 });
    await clock.advance(1_000);
    expect(jobs.claim('s1', { maxJobs: 1 })).toEqual([]);
    expect(jobs.record(id)).toMatchObject({ state: 'dead', error: { code: 'not_after_passed' } });
  });

  it('defaults notAfter to 15 minutes for grants and 24 hours for other jobs', () => {
    const { clock, jobs, enqueue } = setup();
    const [grant, revoke] = [enqueue({ type: 'grant' }), enqueue({ type: 'revoke' })];
    expect(jobs.record(grant)?.notAfterMs).toBe(clock.now() + 15 * 60_000);
    expect(jobs.record(revoke)?.notAfterMs).toBe(clock.now() + 24 * 3_600_000);
  });

  it('kills a queued job on cancel and flags a leased one for its next extend', () => {
    const { jobs, enqueue } = setup();
    const leased = enqueue();
    const queued = enqueue({ resourceKey: 'busy' });
    const [lease] = jobs.claim('s1', { maxJobs: 1 });
    jobs.cancel(queued);
    jobs.cancel(leased);

    expect(jobs.record(queued)).toMatchObject({ state: 'dead', error: { code: 'cancelled' } });
    expect(jobs.extend(leased, lease!).cancelRequested).toBe(true);
    jobs.release(leased, lease!);
    expect(jobs.record(leased)?.state).toBe('dead');
  });

  it('reports a change when an expired lease makes a job claimable again', async () => {
    const { clock, jobs, enqueue, changes } = setup();
    enqueue();
    jobs.claim('s1', { maxJobs: 1 });
    const before = changes();
    await clock.advance(ttl);
    jobs.tick();
    expect(changes()).toBe(before + 1);
  });
});
