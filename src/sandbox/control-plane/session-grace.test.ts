import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeClock } from '../../../test/fakes/fake-clock.js';
import {
  ClaimResponse,
  JobEnvelope,
  paths,
  RegisterResponse,
  type HeartbeatRequest,
} from '../../control-plane/protocol.js';
import {
  registerSession,
  registration,
  type Call,
  type TestSession,
  startTestPlane,
} from '../../../test/kits/control-plane-http-test-kit.js';
import type { ReferenceControlPlane } from './reference-control-plane.js';

const enrollmentToken = 'enroll-secret';
const leaseTtlMs = 10_000;
const sessionGraceMs = 30_000;

let plane: ReferenceControlPlane;
let clock: FakeClock;
let protocol: Call;
let session: TestSession;

beforeEach(async () => {
  ({ plane, clock, protocol, session } = await startTestPlane(enrollmentToken, {
    intervals: { leaseTtlMs, pollWaitMs: 0, sessionGraceMs },
    accessTokenTtlMs: 600_000,
  }));
});

afterEach(async () => {
  await plane.close();
});

async function claimOne(by: TestSession = session): Promise<JobEnvelope | undefined> {
  const answer = await protocol('POST', paths.claim(by.sessionId), {
    token: by.accessToken,
    body: { maxJobs: 1, waitMs: 0 },
  });
  if (answer.status === 204) return undefined;
  const [job] = ClaimResponse.parse(answer.body).jobs;
  return job === undefined ? undefined : JobEnvelope.parse(job);
}

function heartbeat(inFlight: HeartbeatRequest['inFlight']) {
  return protocol('POST', paths.heartbeat(session.sessionId), {
    token: session.accessToken,
    body: { sentAt: '2026-11-24T12:00:00.000Z', state: 'busy', inFlight, outboxDepth: 0, freeSlots: 3 },
  });
}

function submit(lease: JobEnvelope) {
  return protocol('PUT', paths.result(lease.jobId, lease.attempt), {
    token: session.accessToken,
    body: {
      leaseId: lease.leaseId,
      fencingToken: lease.fencingToken,
      outcome: 'succeeded',
      result: { ok: true },
      startedAt: '2026-11-24T12:00:00.000Z',
      finishedAt: '2026-11-24T12:00:01.000Z',
    },
    headers: { 'idempotency-key': `${lease.jobId}:${lease.attempt}` },
  });
}

const ref = (lease: JobEnvelope) => ({
  jobId: lease.jobId,
  leaseId: lease.leaseId,
  fencingToken: lease.fencingToken,
});

describe('a silent session keeps its leases for the grace period', () => {
  it('advertises sessionGraceMs with the intervals at registration', async () => {
    const answer = await protocol('POST', paths.register, { token: enrollmentToken, body: registration() });
    expect(RegisterResponse.parse(answer.body).intervals.sessionGraceMs).toBe(sessionGraceMs);
  });

  it('does not redeliver a lease past its TTL while its session is silent, and takes the held result', async () => {
    const other = await registerSession(protocol, enrollmentToken, { instanceId: 'pod-2:boot-1' });
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    const lease = await claimOne();
    await clock.advance(2 * leaseTtlMs);

    expect(await claimOne(other), 'another session cannot take it').toBeUndefined();
    expect((await submit(lease!)).status).toBe(200);
    expect(plane.store.job(jobId)).toMatchObject({ state: 'succeeded', attempts: 1 });
  });

  it('redelivers once the session is declared dead (silent for the grace period)', async () => {
    const other = await registerSession(protocol, enrollmentToken, { instanceId: 'pod-2:boot-1' });
    const jobId = plane.store.enqueueJob({ type: 'revoke' });
    await claimOne();
    await clock.advance(sessionGraceMs);

    expect((await claimOne(other))?.attempt).toBe(2);
    expect(plane.store.job(jobId)?.attempts).toBe(2);
  });

  it('keeps a lease past its TTL while the session heartbeats and lists it, and lets it go when it stops listing it', async () => {
    const other = await registerSession(protocol, enrollmentToken, { instanceId: 'pod-2:boot-1' });
    plane.store.enqueueJob({ type: 'revoke' });
    const lease = await claimOne();
    await clock.advance(leaseTtlMs);
    await heartbeat([ref(lease!)]);
    expect(await claimOne(other), 'listed in flight: still held').toBeUndefined();

    await clock.advance(1);
    await heartbeat([]);
    expect((await claimOne(other))?.attempt, 'not listed after its TTL: redelivered').toBe(2);
  });
});
